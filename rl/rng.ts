/**
 * Small seeded pseudo-random generator (mulberry32) used everywhere RL needs randomness
 * (behaviour exploration, minibatches, weight initialisation, bootstrap), so runs are reproducible
 * from a seed and independent of Math.random.
 */
export class Rng {
  private s: number;

  constructor(seed: number) {
    this.s = (Math.trunc(seed) ^ 0x9e3779b9) >>> 0;
    for (let i = 0; i < 4; i++) this.next();
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** Index drawn from a discrete distribution `probs` (must sum to ~1). */
  choice(probs: ArrayLike<number>): number {
    const u = this.next();
    let acc = 0;
    for (let i = 0; i < probs.length; i++) {
      acc += probs[i]!;
      if (u < acc) return i;
    }
    return probs.length - 1;
  }
}
