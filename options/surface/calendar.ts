/**
 * Calendar-spread arbitrage between fitted slices of any parametrisation: total implied variance
 * must be non-decreasing in maturity at every log-moneyness, w(k, t₂) ≥ w(k, t₁) for t₂ > t₁
 * (Gatheral & Jacquier 2014, Lemma 2.1 / Definition 2.1, with k = ln(K/F_t) forward moneyness and
 * no dividends jumps).
 */

/** A slice as a function of k with its maturity. */
export interface WSlice {
  expiry: string;
  t: number;
  w: (k: number) => number;
}

/** Worst crossing between consecutive slices on a k-grid (default [−0.5, 0.5], step 0.005). */
export function calendarCheck(slices: readonly WSlice[], kMin = -0.5, kMax = 0.5, step = 0.005): Array<{ from: string; to: string; minDiff: number; atK: number; ok: boolean }> {
  const s = [...slices].sort((a, b) => a.t - b.t);
  return s.slice(1).map((hi, i) => {
    const lo = s[i]!;
    let minDiff = Infinity;
    let atK = NaN;
    for (let k = kMin; k <= kMax + 1e-12; k += step) {
      const d = hi.w(k) - lo.w(k);
      if (d < minDiff) [minDiff, atK] = [d, k];
    }
    return { from: lo.expiry, to: hi.expiry, minDiff, atK, ok: minDiff >= 0 };
  });
}
