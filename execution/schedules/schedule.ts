/**
 * A trade schedule for a parent order of X shares over [0, T] seconds in N intervals of length
 * τ = T/N (Almgren & Chriss 2000 notation): holdings x_k at t_k = kτ (x_0 = X, x_N = 0) and child
 * order sizes n_k = x_{k−1} − x_k traded in interval k (k = 1..N).
 */
export interface Schedule {
  name: string;
  /** Parent size X (shares, > 0; the side is carried by the executor). */
  shares: number;
  /** Horizon T (seconds). */
  horizonSeconds: number;
  /** n_1..n_N, whole shares summing to X. */
  trades: number[];
}

/** Holdings x_0..x_N of a schedule (shares). */
export function holdings(s: Schedule): number[] {
  const x = [s.shares];
  for (const n of s.trades) x.push(x[x.length - 1]! - n);
  return x;
}

/**
 * Whole-share child sizes from continuous target holdings x_0..x_N (x_0 = X, x_N = 0): n_k =
 * round(X − x_k) − round(X − x_{k−1}), so rounding never accumulates and Σn_k = X exactly.
 * Throws RangeError when X is not a positive whole number or the holdings are not X..0.
 */
export function roundTrades(shares: number, x: number[]): number[] {
  if (!Number.isInteger(shares) || shares <= 0) throw new RangeError(`parent order must be a positive whole number of shares, got ${shares}`);
  if (x.length < 2 || Math.abs(x[0]! - shares) > 1e-9 * shares || Math.abs(x[x.length - 1]!) > 1e-9 * shares) {
    throw new RangeError(`holdings must run from X = ${shares} to 0, got ${x[0]} … ${x[x.length - 1]}`);
  }
  const out: number[] = [];
  let done = 0;
  for (let k = 1; k < x.length; k++) {
    const target = Math.round(shares - x[k]!);
    out.push(target - done);
    done = target;
  }
  return out;
}

/** Validates N and T; returns τ = T/N. */
export function intervalLength(horizonSeconds: number, intervals: number): number {
  if (!Number.isInteger(intervals) || intervals < 1) throw new RangeError(`number of intervals must be a whole number ≥ 1, got ${intervals}`);
  if (!(horizonSeconds > 0)) throw new RangeError(`horizon must be > 0 seconds, got ${horizonSeconds}`);
  return horizonSeconds / intervals;
}

/** TWAP: equal child orders, x_k = X(1 − k/N) (time-weighted average price benchmark). */
export function twapSchedule(shares: number, horizonSeconds: number, intervals: number): Schedule {
  intervalLength(horizonSeconds, intervals);
  const x = Array.from({ length: intervals + 1 }, (_, k) => shares * (1 - k / intervals));
  return { name: 'TWAP', shares, horizonSeconds, trades: roundTrades(shares, x) };
}
