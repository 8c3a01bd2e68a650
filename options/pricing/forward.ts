/**
 * The forward of one expiry implied by put–call parity, C − P = D·(F − K) (European options,
 * Black 1976), so F = K + (C − P)/D at every strike that has both a call and a put price.
 *
 * Estimator (robust to stale settles far from the money): among the strikes with both legs priced
 * — only pairs where both legs traded that day when at least `minPairs` such pairs exist — take the
 * `nearest` strikes with the smallest |C − P| (the strikes closest to the forward) and return the
 * median of K + (C − P)/D. D = e^{−rT} from the stated repo rate (options/pricing/rates.ts), because
 * the parity-regression slope is too noisy on one date (see {@link parityRegression}, kept as a
 * diagnostic). NaN with a reason when fewer than `minPairs` priced pairs exist.
 */
import type { ChainRow } from '../data/chain.ts';
import { optionPrice } from '../data/chain.ts';

/** A (call, put) price pair at one strike, INR per unit of the index. */
export interface ParityPair {
  strike: number;
  call: number;
  put: number;
  /** Both legs traded (contracts > 0) that day. */
  traded: boolean;
}

/** The parity forward of one (date, expiry). */
export interface ParityForward {
  /** Forward, index points; NaN when `reason` is set. */
  forward: number;
  reason: 'no_pairs' | null;
  /** Strikes used for the median. */
  strikes: number[];
  /** (max − min)/median of the per-strike forwards used: a QC measure of parity consistency. */
  dispersion: number;
  pairs: number;
}

/** Estimator settings. */
export interface ForwardOptions {
  /** Strikes closest to the money in the median (default 5). */
  nearest?: number;
  /** Minimum pairs for an estimate (default 3; also the traded-pairs threshold). */
  minPairs?: number;
}

/** The (call, put) pairs of the rows of one (date, expiry), priced by Settle (else Close), ascending strike. */
export function parityPairs(rows: readonly ChainRow[]): ParityPair[] {
  const calls = new Map<number, ChainRow>();
  const puts = new Map<number, ChainRow>();
  for (const r of rows) (r.type === 'C' ? calls : puts).set(r.strike, r);
  const out: ParityPair[] = [];
  for (const [k, c] of calls) {
    const p = puts.get(k);
    const pc = optionPrice(c);
    const pp = p ? optionPrice(p) : null;
    if (!p || !pc || !pp || !(pc.price > 0) || !(pp.price > 0)) continue;
    out.push({ strike: k, call: pc.price, put: pp.price, traded: (c.contracts ?? 0) > 0 && (p.contracts ?? 0) > 0 });
  }
  return out.sort((a, b) => a.strike - b.strike);
}

/** Parity forward from pairs and the discount factor `df` to the expiry (see module docs). */
export function parityForward(pairs: readonly ParityPair[], df: number, opts: ForwardOptions = {}): ParityForward {
  const nearest = opts.nearest ?? 5;
  const minPairs = opts.minPairs ?? 3;
  const traded = pairs.filter((p) => p.traded);
  const pool = traded.length >= minPairs ? traded : pairs;
  if (pool.length < minPairs) return { forward: NaN, reason: 'no_pairs', strikes: [], dispersion: NaN, pairs: pairs.length };
  const near = [...pool].sort((a, b) => Math.abs(a.call - a.put) - Math.abs(b.call - b.put) || a.strike - b.strike).slice(0, nearest);
  const fwds = near.map((p) => p.strike + (p.call - p.put) / df).sort((a, b) => a - b);
  const forward = median(fwds);
  return { forward, reason: null, strikes: near.map((p) => p.strike).sort((a, b) => a - b), dispersion: (fwds[fwds.length - 1]! - fwds[0]!) / forward, pairs: pairs.length };
}

/** The parity regression C − P = α + β·K by OLS over pairs with |K/F₀ − 1| ≤ `band`: D = −β, F = α/D. */
export interface ParityRegression {
  df: number;
  forward: number;
  /** Implied continuously-compounded rate −ln(D)/T, annual decimal (NaN when D ≤ 0 or T ≤ 0). */
  impliedRate: number;
  n: number;
}

/**
 * OLS fit of C − P on K over traded pairs within `band` (default 5 %) of `approxForward` (a diagnostic:
 * the rate implied by the chain). NaN fields when fewer than 3 pairs qualify.
 */
export function parityRegression(pairs: readonly ParityPair[], approxForward: number, t: number, band = 0.05): ParityRegression {
  const use = pairs.filter((p) => p.traded && Math.abs(p.strike / approxForward - 1) <= band);
  const n = use.length;
  if (n < 3 || !Number.isFinite(approxForward)) return { df: NaN, forward: NaN, impliedRate: NaN, n };
  const mk = use.reduce((s, p) => s + p.strike, 0) / n;
  const my = use.reduce((s, p) => s + p.call - p.put, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const p of use) {
    sxy += (p.strike - mk) * (p.call - p.put - my);
    sxx += (p.strike - mk) ** 2;
  }
  const beta = sxy / sxx;
  const alpha = my - beta * mk;
  const df = -beta;
  return { df, forward: alpha / df, impliedRate: df > 0 && t > 0 ? -Math.log(df) / t : NaN, n };
}

/** Median of a numeric array (NaN for an empty one). Does not mutate its input. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : 0.5 * (s[m - 1]! + s[m]!);
}
