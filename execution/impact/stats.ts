import { normInv } from '../../governance/stats.ts';
import { Rng } from '../../rl/rng.ts';

/** An estimate with a two-sided confidence interval and the method that produced it. */
export interface Estimate {
  value: number;
  se: number;
  lo: number;
  hi: number;
  /** `ols-hc1` (White/MacKinnon–White HC1 standard error, normal interval), `block-bootstrap`, `bootstrap`, `wilson`. */
  method: string;
  n: number;
}

/** Two-sided standard normal quantile for confidence `level` (e.g. 0.95 → 1.95996; jstat via governance/stats.ts). */
export function zQuantile(level: number): number {
  if (!(level > 0 && level < 1)) throw new RangeError(`confidence level must be in (0, 1), got ${level}`);
  return normInv(0.5 + level / 2);
}

/** Result of {@link ols}. */
export interface OlsFit {
  beta: number[];
  /** HC1 heteroscedasticity-robust standard errors (MacKinnon & White 1985): (X'X)⁻¹X'diag(e²)X(X'X)⁻¹·n/(n−p). */
  se: number[];
  r2: number;
  n: number;
}

/**
 * Ordinary least squares y = Xβ + ε for `X` given as columns (each length n; include a column of
 * ones for an intercept). Returns β, HC1 standard errors and R². Throws RangeError when n ≤ p or
 * X'X is singular.
 */
export function ols(cols: ArrayLike<number>[], y: ArrayLike<number>): OlsFit {
  const p = cols.length;
  const n = y.length;
  if (n <= p) throw new RangeError(`OLS needs more rows (${n}) than regressors (${p})`);
  const xtx = Array.from({ length: p }, () => new Float64Array(p));
  const xty = new Float64Array(p);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < p; a++) {
      const xa = cols[a]![i]!;
      xty[a] += xa * y[i]!;
      for (let b = a; b < p; b++) xtx[a]![b] += xa * cols[b]![i]!;
    }
  }
  for (let a = 0; a < p; a++) for (let b = 0; b < a; b++) xtx[a]![b] = xtx[b]![a]!;
  const inv = invertSpd(xtx);
  const beta = Array.from({ length: p }, (_, a) => inv[a]!.reduce((s, v, b) => s + v * xty[b]!, 0));
  const meat = Array.from({ length: p }, () => new Float64Array(p));
  let sse = 0;
  let ym = 0;
  for (let i = 0; i < n; i++) ym += y[i]!;
  ym /= n;
  let sst = 0;
  for (let i = 0; i < n; i++) {
    let f = 0;
    for (let a = 0; a < p; a++) f += beta[a]! * cols[a]![i]!;
    const e = y[i]! - f;
    sse += e * e;
    sst += (y[i]! - ym) ** 2;
    for (let a = 0; a < p; a++) for (let b = 0; b < p; b++) meat[a]![b] += e * e * cols[a]![i]! * cols[b]![i]!;
  }
  const se = beta.map((_, a) => {
    let v = 0;
    for (let b = 0; b < p; b++) for (let c = 0; c < p; c++) v += inv[a]![b]! * meat[b]![c]! * inv[c]![a]!;
    return Math.sqrt(Math.max(0, (v * n) / (n - p)));
  });
  return { beta, se, r2: sst > 0 ? 1 - sse / sst : 0, n };
}

/** Inverse of a small symmetric positive-definite matrix (Gauss–Jordan); throws when singular. */
export function invertSpd(m: ArrayLike<number>[]): Float64Array[] {
  const p = m.length;
  const a = m.map((r, i) => {
    const row = new Float64Array(2 * p);
    for (let j = 0; j < p; j++) row[j] = r[j]!;
    row[p + i] = 1;
    return row;
  });
  for (let c = 0; c < p; c++) {
    let piv = c;
    for (let r = c + 1; r < p; r++) if (Math.abs(a[r]![c]!) > Math.abs(a[piv]![c]!)) piv = r;
    if (!(Math.abs(a[piv]![c]!) > 1e-300)) throw new RangeError('matrix is singular (a regressor is constant or collinear)');
    [a[c], a[piv]] = [a[piv]!, a[c]!];
    const d = a[c]![c]!;
    for (let j = 0; j < 2 * p; j++) a[c]![j]! /= d;
    for (let r = 0; r < p; r++) {
      if (r === c) continue;
      const f = a[r]![c]!;
      if (f !== 0) for (let j = 0; j < 2 * p; j++) a[r]![j]! -= f * a[c]![j]!;
    }
  }
  return a.map((row) => row.slice(p));
}

/** A coefficient of an OLS fit as an {@link Estimate} with a normal interval at `level`. */
export function olsEstimate(fit: OlsFit, k: number, level = 0.95): Estimate {
  const z = zQuantile(level);
  const v = fit.beta[k]!;
  const se = fit.se[k]!;
  return { value: v, se, lo: v - z * se, hi: v + z * se, method: 'ols-hc1', n: fit.n };
}

/**
 * Moving-block bootstrap of a statistic over blocks of consecutive observations (Künsch 1989):
 * draws ⌈nBlocks⌉ block indices with replacement, concatenates those blocks and recomputes
 * `stat(indices)`. Returns the point estimate on all blocks and the percentile interval at `level`.
 * `blocks` are index arrays (e.g. the observations of each 60-second bucket). Seeded; deterministic.
 */
export function blockBootstrap(blocks: number[][], stat: (idx: number[]) => number, opts: { reps?: number; seed?: number; level?: number } = {}): Estimate {
  const reps = opts.reps ?? 500;
  const level = opts.level ?? 0.95;
  const nonEmpty = blocks.filter((b) => b.length > 0);
  if (nonEmpty.length < 2) throw new RangeError(`block bootstrap needs at least 2 non-empty blocks, got ${nonEmpty.length}`);
  const all = nonEmpty.flat();
  const value = stat(all);
  const rng = new Rng(opts.seed ?? 1);
  const draws: number[] = [];
  for (let r = 0; r < reps; r++) {
    const idx: number[] = [];
    for (let b = 0; b < nonEmpty.length; b++) for (const i of nonEmpty[rng.int(nonEmpty.length)]!) idx.push(i);
    const v = stat(idx);
    if (Number.isFinite(v)) draws.push(v);
  }
  return percentileEstimate(value, draws, level, 'block-bootstrap', all.length);
}

/** i.i.d. bootstrap of the mean of `x` (percentile interval). Seeded; throws for fewer than 2 values. */
export function bootstrapMean(x: ArrayLike<number>, opts: { reps?: number; seed?: number; level?: number } = {}): Estimate {
  const n = x.length;
  if (n < 2) throw new RangeError(`bootstrap of a mean needs at least 2 values, got ${n}`);
  const reps = opts.reps ?? 2000;
  const rng = new Rng(opts.seed ?? 1);
  let m = 0;
  for (let i = 0; i < n; i++) m += x[i]!;
  m /= n;
  const draws = new Array<number>(reps);
  for (let r = 0; r < reps; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += x[rng.int(n)]!;
    draws[r] = s / n;
  }
  return percentileEstimate(m, draws, opts.level ?? 0.95, 'bootstrap', n);
}

function percentileEstimate(value: number, draws: number[], level: number, method: string, n: number): Estimate {
  if (draws.length < 2) throw new RangeError(`bootstrap produced ${draws.length} finite replicates; cannot form an interval`);
  draws.sort((a, b) => a - b);
  const q = (p: number) => draws[Math.min(draws.length - 1, Math.max(0, Math.floor(p * (draws.length - 1))))]!;
  const mean = draws.reduce((s, v) => s + v, 0) / draws.length;
  const se = Math.sqrt(draws.reduce((s, v) => s + (v - mean) ** 2, 0) / (draws.length - 1));
  return { value, se, lo: q((1 - level) / 2), hi: q((1 + level) / 2), method, n };
}

/** Mean and sample standard deviation of `x` (NaN std for fewer than 2 values). */
export function meanStd(x: ArrayLike<number>): { mean: number; std: number } {
  const n = x.length;
  let m = 0;
  for (let i = 0; i < n; i++) m += x[i]!;
  m /= n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (x[i]! - m) ** 2;
  return { mean: m, std: n > 1 ? Math.sqrt(v / (n - 1)) : NaN };
}
