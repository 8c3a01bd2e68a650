import { quantile } from './stats.ts';

/** Options of {@link pboCscv}. */
export interface PboOptions {
  /** Number of contiguous blocks S (even, ≥ 2, ≤ 24). Default 16 (Bailey et al. 2015). */
  blocks?: number;
  /** Called every few thousand combinations (for progress/abort). */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/** Result of {@link pboCscv}. Performances are per-period (daily) Sharpe ratios. */
export interface PboResult {
  /** Probability of backtest overfitting: share of combinations whose IS-best trial ranks at or below the OOS median (λ ≤ 0). */
  pbo: number;
  n_trials: number;
  n_obs: number;
  blocks: number;
  n_combinations: number;
  /** Logits λ_c = ln(ω̄/(1 − ω̄)) summary and a 20-bin histogram over [−6, 6] (clamped). */
  logits: { mean: number; p05: number; p25: number; median: number; p75: number; p95: number; histogram: { lo: number; hi: number; count: number }[] };
  /** Performance degradation: OOS Sharpe of the IS-best trial regressed on its IS Sharpe. */
  degradation: { slope: number; intercept: number; r2: number; mean_is_sr: number; mean_oos_sr: number; prob_oos_loss: number };
}

/**
 * Probability of Backtest Overfitting by Combinatorially Symmetric Cross-Validation
 * (Bailey, Borwein, López de Prado, Zhu 2015).
 *
 * `m` is a T×N row-major matrix (m[t*N + n]) of per-period returns of N trials over the same T dates.
 * Rows are split into S contiguous blocks (sizes differ by at most one); for each of the C(S, S/2)
 * choices of S/2 in-sample blocks (the complement is out-of-sample) the trial with the best IS Sharpe
 * is ranked OOS: ω̄ = rank/(N+1) (ascending, average ranks for ties), λ = logit(ω̄); PBO = P[λ ≤ 0].
 * Throws RangeError when N < 2, S is odd/out of range, or T < 2·S.
 */
export function pboCscv(m: Float64Array, nObs: number, nTrials: number, opts: PboOptions = {}): PboResult {
  const S = opts.blocks ?? 16;
  if (nTrials < 2) throw new RangeError(`PBO needs at least 2 trials, got ${nTrials}`);
  if (S < 2 || S % 2 !== 0 || S > 24) throw new RangeError(`PBO blocks S must be even and in [2, 24], got ${S}`);
  if (nObs < 2 * S) throw new RangeError(`PBO needs at least 2·S = ${2 * S} observations, got ${nObs}`);
  if (m.length !== nObs * nTrials) throw new RangeError(`PBO matrix has ${m.length} cells, expected ${nObs}×${nTrials}`);
  const N = nTrials;
  // Per-block sufficient statistics.
  const bSum = new Float64Array(S * N);
  const bSq = new Float64Array(S * N);
  const bCnt = new Float64Array(S);
  for (let b = 0; b < S; b++) {
    const lo = Math.floor((b * nObs) / S);
    const hi = Math.floor(((b + 1) * nObs) / S);
    bCnt[b] = hi - lo;
    for (let t = lo; t < hi; t++) {
      const row = t * N;
      for (let n = 0; n < N; n++) {
        const v = m[row + n]!;
        bSum[b * N + n] += v;
        bSq[b * N + n] += v * v;
      }
    }
  }
  const half = S / 2;
  const masks: number[] = [];
  for (let mask = 0; mask < 1 << S; mask++) if (popcount(mask) === half) masks.push(mask);
  const total = masks.length;
  const logits = new Float64Array(total);
  const isSr = new Float64Array(total);
  const oosSr = new Float64Array(total);
  const sIs = new Float64Array(N);
  const qIs = new Float64Array(N);
  const sOos = new Float64Array(N);
  const qOos = new Float64Array(N);
  const perfIs = new Float64Array(N);
  const perfOos = new Float64Array(N);
  let below = 0;
  for (let c = 0; c < total; c++) {
    if (opts.signal?.aborted) throw new Error('PBO computation aborted');
    const mask = masks[c]!;
    sIs.fill(0);
    qIs.fill(0);
    sOos.fill(0);
    qOos.fill(0);
    let cIs = 0;
    let cOos = 0;
    for (let b = 0; b < S; b++) {
      const inIs = (mask >> b) & 1;
      const off = b * N;
      if (inIs) {
        cIs += bCnt[b]!;
        for (let n = 0; n < N; n++) {
          sIs[n] += bSum[off + n]!;
          qIs[n] += bSq[off + n]!;
        }
      } else {
        cOos += bCnt[b]!;
        for (let n = 0; n < N; n++) {
          sOos[n] += bSum[off + n]!;
          qOos[n] += bSq[off + n]!;
        }
      }
    }
    let best = 0;
    for (let n = 0; n < N; n++) {
      perfIs[n] = blockSharpe(sIs[n]!, qIs[n]!, cIs);
      perfOos[n] = blockSharpe(sOos[n]!, qOos[n]!, cOos);
      if (perfIs[n]! > perfIs[best]!) best = n;
    }
    const target = perfOos[best]!;
    let less = 0;
    let equal = 0;
    for (let n = 0; n < N; n++) {
      if (perfOos[n]! < target) less++;
      else if (perfOos[n] === target) equal++;
    }
    const rank = less + (equal + 1) / 2; // average rank, 1-based
    const w = rank / (N + 1);
    const lam = Math.log(w / (1 - w));
    logits[c] = lam;
    if (lam <= 0) below++;
    isSr[c] = perfIs[best]!;
    oosSr[c] = target;
    if (opts.onProgress && c % 2000 === 0) opts.onProgress(c, total);
  }
  const lam = Array.from(logits);
  const hist: { lo: number; hi: number; count: number }[] = [];
  for (let i = 0; i < 20; i++) hist.push({ lo: -6 + i * 0.6, hi: -6 + (i + 1) * 0.6, count: 0 });
  for (const l of lam) {
    const idx = Math.min(19, Math.max(0, Math.floor((l + 6) / 0.6)));
    hist[idx]!.count++;
  }
  return {
    pbo: below / total,
    n_trials: N,
    n_obs: nObs,
    blocks: S,
    n_combinations: total,
    logits: {
      mean: lam.reduce((a, b) => a + b, 0) / total,
      p05: quantile(lam, 0.05),
      p25: quantile(lam, 0.25),
      median: quantile(lam, 0.5),
      p75: quantile(lam, 0.75),
      p95: quantile(lam, 0.95),
      histogram: hist,
    },
    degradation: regress(isSr, oosSr),
  };
}

function blockSharpe(sum: number, sq: number, n: number): number {
  if (n < 2) return 0;
  const mean = sum / n;
  const v = (sq - n * mean * mean) / (n - 1);
  return v > 0 ? mean / Math.sqrt(v) : 0;
}

function popcount(x: number): number {
  let c = 0;
  while (x) {
    x &= x - 1;
    c++;
  }
  return c;
}

function regress(x: Float64Array, y: Float64Array): PboResult['degradation'] {
  const n = x.length;
  let mx = 0;
  let my = 0;
  let loss = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i]!;
    my += y[i]!;
    if (y[i]! < 0) loss++;
  }
  mx /= n;
  my /= n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx;
    const dy = y[i]! - my;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  const slope = sxx > 0 ? sxy / sxx : 0;
  return {
    slope,
    intercept: my - slope * mx,
    r2: sxx > 0 && syy > 0 ? (sxy * sxy) / (sxx * syy) : 0,
    mean_is_sr: mx,
    mean_oos_sr: my,
    prob_oos_loss: loss / n,
  };
}

/** The PBO bar's thresholds (configs/promotion.yml `pbo`). */
export interface PboRule {
  /** PBO above this is a warning sign on its own… */
  max: number;
  /** …that rejects only when the IS-selected trial also loses out of sample this often. */
  max_prob_oos_loss: number;
}

/** The PBO bar's decision and its reason. */
export interface PboDecision {
  pass: boolean;
  reason: string;
}

/**
 * The PBO bar: reject when PBO > `max` AND P(OOS loss) > `max_prob_oos_loss`, i.e. when selecting
 * the in-sample best is overfit AND the selected trial then loses money out of sample. Bailey,
 * Borwein, López de Prado & Zhu (2015, §§ 3–4) read PBO together with the performance degradation
 * and the probability of loss: among trials that share one real edge the IS-best ranks below the
 * OOS median about half the time (PBO ≈ 0.5, nothing is overfit) while P(OOS loss) stays ≈ 0;
 * among skill-less trials both are high. The degradation slope is reported, not decided on: IS and
 * OOS halves of CSCV partition the same sample, so the slope is negative even for a single strategy.
 */
export function pboDecision(r: PboResult, rule: PboRule): PboDecision {
  const loss = r.degradation.prob_oos_loss;
  const overfit = r.pbo > rule.max;
  const losing = loss > rule.max_prob_oos_loss;
  const pass = !(overfit && losing);
  const cmp = (a: number, b: number, big: boolean) => `${a.toFixed(3)} ${big ? '>' : '≤'} ${b}`;
  return {
    pass,
    reason: `PBO ${cmp(r.pbo, rule.max, overfit)}, P(OOS loss) ${cmp(loss, rule.max_prob_oos_loss, losing)}, degradation slope ${r.degradation.slope.toFixed(3)}: ${pass ? (overfit ? 'the IS-best ranks low among trials that all keep their edge out of sample' : 'selection not overfit') : 'overfit selection that loses out of sample'}`,
  };
}
