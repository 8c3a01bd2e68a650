/** One reliability-diagram bin: predictions in [lo, hi). */
export interface ReliabilityBin {
  lo: number;
  hi: number;
  count: number;
  /** Mean predicted probability in the bin (NaN when empty). */
  mean_pred: number;
  /** Observed frequency of the event in the bin (NaN when empty). */
  frac_pos: number;
}

/** Calibration of probabilistic forecasts of a binary event. */
export interface CalibrationResult {
  n: number;
  /** Brier score mean((p − y)²); 0.25 = an uninformative p = 0.5 forecast. */
  brier: number;
  /** Brier score of the climatological forecast p = base rate (reference for skill). */
  brier_reference: number;
  /** Brier skill score 1 − brier / brier_reference (> 0 beats the base rate). */
  brier_skill: number;
  /** Mean negative log-likelihood (natural log), probabilities clipped to [1e-15, 1 − 1e-15]. */
  log_loss: number;
  /** Expected calibration error Σ (count/n)·|frac_pos − mean_pred| over the bins. */
  ece: number;
  base_rate: number;
  bins: ReliabilityBin[];
}

/**
 * Brier score, log loss, reliability bins (equal width on [0, 1]) and ECE of probabilities `p`
 * for binary outcomes `y` ∈ {0, 1}. Pairs with a non-finite p or y are skipped.
 * Throws RangeError when a probability lies outside [0, 1] or no pair is usable.
 */
export function calibration(p: ArrayLike<number>, y: ArrayLike<number>, nBins = 10): CalibrationResult {
  if (p.length !== y.length) throw new RangeError(`calibration: ${p.length} probabilities but ${y.length} outcomes`);
  const cnt = new Float64Array(nBins);
  const sp = new Float64Array(nBins);
  const sy = new Float64Array(nBins);
  let n = 0;
  let brier = 0;
  let ll = 0;
  let pos = 0;
  const eps = 1e-15;
  for (let i = 0; i < p.length; i++) {
    const pi = p[i]!;
    const yi = y[i]!;
    if (!Number.isFinite(pi) || !Number.isFinite(yi)) continue;
    if (pi < 0 || pi > 1) throw new RangeError(`calibration: probability ${pi} at row ${i} is outside [0, 1]`);
    const yb = yi > 0.5 ? 1 : 0;
    n++;
    pos += yb;
    brier += (pi - yb) ** 2;
    const pc = Math.min(1 - eps, Math.max(eps, pi));
    ll -= yb ? Math.log(pc) : Math.log(1 - pc);
    const b = Math.min(nBins - 1, Math.floor(pi * nBins));
    cnt[b]++;
    sp[b] += pi;
    sy[b] += yb;
  }
  if (n === 0) throw new RangeError('calibration: no usable (probability, outcome) pairs');
  const base = pos / n;
  const bins: ReliabilityBin[] = [];
  let ece = 0;
  for (let b = 0; b < nBins; b++) {
    const c = cnt[b]!;
    const mp = c ? sp[b]! / c : NaN;
    const fp = c ? sy[b]! / c : NaN;
    if (c) ece += (c / n) * Math.abs(fp - mp);
    bins.push({ lo: b / nBins, hi: (b + 1) / nBins, count: c, mean_pred: mp, frac_pos: fp });
  }
  const bRef = base * (1 - base);
  return {
    n,
    brier: brier / n,
    brier_reference: bRef,
    brier_skill: bRef > 0 ? 1 - brier / n / bRef : NaN,
    log_loss: ll / n,
    ece,
    base_rate: base,
    bins,
  };
}
