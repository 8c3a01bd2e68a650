/**
 * Seeded pseudo-random numbers for the simulations (deterministic across runs and machines):
 * mulberry32 uniforms (Tommy Ettinger's 32-bit generator) and standard normals by the polar
 * Box–Muller method (Marsaglia & Bray 1964).
 */

/** A uniform generator on [0, 1) from a 32-bit seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal generator from a seed (polar Box–Muller, the spare value cached). */
export function normalRng(seed: number): () => number {
  const u = mulberry32(seed);
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    for (;;) {
      const x = 2 * u() - 1;
      const y = 2 * u() - 1;
      const r = x * x + y * y;
      if (r > 0 && r < 1) {
        const f = Math.sqrt((-2 * Math.log(r)) / r);
        spare = y * f;
        return x * f;
      }
    }
  };
}
