import type { PolicyTable } from './episodes.ts';

/**
 * Fitted Q evaluation (Le, Voloshin, Yue 2019) in its finite-horizon form, with one ridge
 * regression per (step h, action a) on standardised state features φ(s) = [1, (s − μ)/σ]:
 *   Q̂_{H}(·) = 0,  Q̂_h(s,a) ≈ E[r_h + γ Σ_a' π(a'|s_{h+1}) Q̂_{h+1}(s_{h+1}, a') | s_h = s, a_h = a]
 * fitted backwards from h = H − 1. A (h, a) cell with no samples predicts the mean target of step h.
 * With one-hot states and ridge → 0 this is exactly tabular dynamic programming on the empirical MDP.
 */
/**
 * Optional pooled function class for Q̂_h: one ridge regression per step over all actions on features
 * ψ(s, a) (ψ[0] must be the unpenalised intercept 1). `phi` is [1, standardised s]; `raw` is the
 * unstandardised state. Without it FQE fits one regression per (h, a) on φ(s).
 */
export interface QFeatures {
  dim: number;
  map(phi: Float64Array, raw: Float64Array, a: number, out: Float64Array): Float64Array;
}

export interface FqeModel {
  horizon: number;
  nActions: number;
  dim: number;
  mu: Float64Array;
  sd: Float64Array;
  /** theta[h][a] = coefficients [dim + 1] (intercept first). */
  theta: Float64Array[][];
}

export interface FqeFit {
  model: FqeModel;
  /** qhat[i][h][a] = Q̂_h(s^i_h, a) at every logged state. */
  qhat: Float64Array[][];
  /** vhat[i][h] = Σ_a π(a|s^i_h) Q̂_h(s^i_h, a). */
  vhat: Float64Array[];
  /** FQE estimate: weighted mean over episodes of V̂_0(s_0). Reward units, discounted over H steps. */
  estimate: number;
}

/** Feature means and standard deviations over all logged states (σ = 1 where a feature is constant). */
export function featureScale(tab: PolicyTable): { mu: Float64Array; sd: Float64Array } {
  const d = tab.episodes[0]?.states[0]?.length ?? 0;
  const mu = new Float64Array(d);
  const m2 = new Float64Array(d);
  let n = 0;
  for (const e of tab.episodes)
    for (const s of e.states) {
      n++;
      for (let j = 0; j < d; j++) {
        const dx = s[j]! - mu[j]!;
        mu[j] += dx / n;
        m2[j] += dx * (s[j]! - mu[j]!);
      }
    }
  const sd = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    const v = n > 1 ? m2[j]! / (n - 1) : 0;
    sd[j] = v > 1e-24 ? Math.sqrt(v) : 1;
  }
  return { mu, sd };
}

/** Solves the symmetric positive definite system M x = b in place (Cholesky); M is [k·k] row-major. */
function solveSpd(M: Float64Array, b: Float64Array, k: number): Float64Array {
  const L = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j <= i; j++) {
      let s = M[i * k + j]!;
      for (let p = 0; p < j; p++) s -= L[i * k + p]! * L[j * k + p]!;
      if (i === j) L[i * k + i] = Math.sqrt(Math.max(s, 1e-300));
      else L[i * k + j] = s / L[j * k + j]!;
    }
  }
  const y = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    let s = b[i]!;
    for (let p = 0; p < i; p++) s -= L[i * k + p]! * y[p]!;
    y[i] = s / L[i * k + i]!;
  }
  const x = new Float64Array(k);
  for (let i = k - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let p = i + 1; p < k; p++) s -= L[p * k + i]! * x[p]!;
    x[i] = s / L[i * k + i]!;
  }
  return x;
}

/**
 * FQE's value estimate: the episode-weighted mean of the fitted value at each episode's first
 * step, V̂(s₀) (Le, Voloshin, Yue 2019). Empty or zero-weight episodes are left out; NaN if none remain.
 */
function weightedStartValue(eps: readonly { actions: ArrayLike<number> }[], vhat: ArrayLike<number>[], w: (i: number) => number): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < eps.length; i++) {
    const c = w(i);
    if (c === 0 || eps[i]!.actions.length === 0) continue;
    num += c * vhat[i]![0]!;
    den += c;
  }
  return den > 0 ? num / den : NaN;
}

function phi(s: Float64Array, mu: Float64Array, sd: Float64Array, out: Float64Array): Float64Array {
  out[0] = 1;
  for (let j = 0; j < s.length; j++) out[j + 1] = (s[j]! - mu[j]!) / sd[j]!;
  return out;
}

/**
 * Fits FQE on the episodes of `tab` with episode multiplicities `weights` (default 1 each).
 * `ridge` λ penalises the non-intercept coefficients, scaled by the cell's total weight.
 * `scale` fixes the feature standardisation (pass the full-data one inside a bootstrap).
 */
export function fitFqe(
  tab: PolicyTable,
  gamma: number,
  opts: { ridge: number; weights?: ArrayLike<number>; scale?: { mu: Float64Array; sd: Float64Array }; qFeatures?: QFeatures },
): FqeFit {
  if (opts.qFeatures) return fitPooled(tab, gamma, opts as Required<Pick<typeof opts, 'qFeatures'>> & typeof opts);
  const H = tab.horizon;
  const A = tab.nActions;
  const { mu, sd } = opts.scale ?? featureScale(tab);
  const d = mu.length;
  const k = d + 1;
  const eps = tab.episodes;
  const w = (i: number) => (opts.weights ? opts.weights[i]! : 1);
  const feats = eps.map((e) => e.states.map((s) => phi(s, mu, sd, new Float64Array(k))));
  const qhat = eps.map((e) => e.states.map(() => new Float64Array(A)));
  const vhat = eps.map((e) => new Float64Array(e.states.length));
  const theta: Float64Array[][] = Array.from({ length: H }, () => Array.from({ length: A }, () => new Float64Array(k)));
  for (let h = H - 1; h >= 0; h--) {
    const XtX = Array.from({ length: A }, () => new Float64Array(k * k));
    const Xty = Array.from({ length: A }, () => new Float64Array(k));
    const wsum = new Float64Array(A);
    let ysum = 0;
    let yw = 0;
    for (let i = 0; i < eps.length; i++) {
      const c = w(i);
      const e = eps[i]!;
      if (c === 0 || h >= e.actions.length) continue;
      const y = e.rewards[h]! + (h + 1 < e.actions.length ? gamma * vhat[i]![h + 1]! : 0);
      const a = e.actions[h]!;
      const x = feats[i]![h]!;
      const M = XtX[a]!;
      const v = Xty[a]!;
      for (let p = 0; p < k; p++) {
        const cx = c * x[p]!;
        v[p] += cx * y;
        for (let q = 0; q <= p; q++) M[p * k + q] += cx * x[q]!;
      }
      wsum[a] += c;
      ysum += c * y;
      yw += c;
    }
    const yMean = yw > 0 ? ysum / yw : 0;
    for (let a = 0; a < A; a++) {
      const th = theta[h]![a]!;
      if (wsum[a] === 0) {
        th[0] = yMean;
        continue;
      }
      const M = XtX[a]!;
      for (let p = 0; p < k; p++) for (let q = 0; q < p; q++) M[q * k + p] = M[p * k + q]!;
      const lam = Math.max(opts.ridge, 1e-10) * wsum[a]!;
      for (let p = 1; p < k; p++) M[p * k + p] += lam;
      M[0] += 1e-12 * wsum[a]!;
      th.set(solveSpd(M, Xty[a]!, k));
    }
    // predictions at step h for every episode (needed by step h − 1 and by DR)
    for (let i = 0; i < eps.length; i++) {
      if (h >= eps[i]!.actions.length) continue;
      const x = feats[i]![h]!;
      const q = qhat[i]![h]!;
      const pr = tab.probs[i]![h]!;
      let v = 0;
      for (let a = 0; a < A; a++) {
        const th = theta[h]![a]!;
        let s = 0;
        for (let p = 0; p < k; p++) s += th[p]! * x[p]!;
        q[a] = s;
        v += pr[a]! * s;
      }
      vhat[i]![h] = v;
    }
  }
  return { model: { horizon: H, nActions: A, dim: d, mu, sd, theta }, qhat, vhat, estimate: weightedStartValue(eps, vhat, w) };
}

/** ψ(s, a) of every logged state, per (tab, scale, feature map): bootstrap refits share them. */
const pooledMemo = new WeakMap<PolicyTable, { mu: Float64Array; sd: Float64Array; qf: QFeatures; psi: Float64Array[][] }>();

/**
 * ψ(s, a) for every logged state and every action: psi[i][h] = [A·k] (action-major), computed once
 * per table, standardisation and feature map (the bootstrap's resamples reuse the full-data scale).
 */
function pooledFeatures(tab: PolicyTable, mu: Float64Array, sd: Float64Array, qf: QFeatures): Float64Array[][] {
  const memo = pooledMemo.get(tab);
  if (memo && memo.mu === mu && memo.sd === sd && memo.qf === qf) return memo.psi;
  const A = tab.nActions, k = qf.dim;
  const ph = new Float64Array(mu.length + 1), out = new Float64Array(k);
  const psi = tab.episodes.map((e) =>
    e.states.map((s) => {
      phi(s, mu, sd, ph);
      const row = new Float64Array(A * k);
      for (let a = 0; a < A; a++) row.set(qf.map(ph, s, a, out), a * k);
      return row;
    }),
  );
  pooledMemo.set(tab, { mu, sd, qf, psi });
  return psi;
}

/** Pooled-features FQE: one ridge regression per step h on ψ(s, a) over all logged actions. */
function fitPooled(
  tab: PolicyTable,
  gamma: number,
  opts: { ridge: number; weights?: ArrayLike<number>; scale?: { mu: Float64Array; sd: Float64Array }; qFeatures: QFeatures },
): FqeFit {
  const H = tab.horizon;
  const A = tab.nActions;
  const { mu, sd } = opts.scale ?? featureScale(tab);
  const d = mu.length;
  const qf = opts.qFeatures;
  const k = qf.dim;
  const eps = tab.episodes;
  const w = (i: number) => (opts.weights ? opts.weights[i]! : 1);
  const psi = pooledFeatures(tab, mu, sd, qf);
  const qhat = eps.map((e) => e.states.map(() => new Float64Array(A)));
  const vhat = eps.map((e) => new Float64Array(e.states.length));
  const theta: Float64Array[][] = Array.from({ length: H }, () => [new Float64Array(k)]);
  for (let h = H - 1; h >= 0; h--) {
    const M = new Float64Array(k * k);
    const v = new Float64Array(k);
    let wsum = 0;
    for (let i = 0; i < eps.length; i++) {
      const c = w(i);
      const e = eps[i]!;
      if (c === 0 || h >= e.actions.length) continue;
      const y = e.rewards[h]! + (h + 1 < e.actions.length ? gamma * vhat[i]![h + 1]! : 0);
      const x = psi[i]![h]!, o = e.actions[h]! * k;
      for (let p = 0; p < k; p++) {
        const cx = c * x[o + p]!;
        v[p] += cx * y;
        for (let q = 0; q <= p; q++) M[p * k + q] += cx * x[o + q]!;
      }
      wsum += c;
    }
    const th = theta[h]![0]!;
    if (wsum > 0) {
      for (let p = 0; p < k; p++) for (let q = 0; q < p; q++) M[q * k + p] = M[p * k + q]!;
      const lam = Math.max(opts.ridge, 1e-10) * wsum;
      for (let p = 1; p < k; p++) M[p * k + p] += lam;
      M[0] += 1e-12 * wsum;
      th.set(solveSpd(M, v, k));
    }
    for (let i = 0; i < eps.length; i++) {
      if (h >= eps[i]!.actions.length) continue;
      const q = qhat[i]![h]!;
      const pr = tab.probs[i]![h]!;
      let val = 0;
      const x = psi[i]![h]!;
      for (let a = 0; a < A; a++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += th[p]! * x[a * k + p]!;
        q[a] = s;
        val += pr[a]! * s;
      }
      vhat[i]![h] = val;
    }
  }
  return { model: { horizon: H, nActions: A, dim: d, mu, sd, theta }, qhat, vhat, estimate: weightedStartValue(eps, vhat, w) };
}

/**
 * Q features for the position-sizing MDP (pooled over the multiplier buckets): with φ = [1, z(s)],
 *   ψ(s, a) = [φ, m_a·φ, m_a², |m_a − m_prev|, |m_a − m_prev|^1.5]
 * (P&L is linear in the multiplier with state-dependent slope; costs grow with the change of
 * multiplier, linear plus impact). `prevIndex` is the state's prev_multiplier position.
 */
export function sizingQFeatures(actions: readonly number[], prevIndex: number, stateDim: number): QFeatures {
  const k = stateDim + 1;
  return {
    dim: 2 * k + 3,
    map(ph, raw, a, out) {
      const m = actions[a]!;
      const dm = Math.abs(m - raw[prevIndex]!);
      for (let p = 0; p < k; p++) {
        out[p] = ph[p]!;
        out[k + p] = m * ph[p]!;
      }
      out[2 * k] = m * m;
      out[2 * k + 1] = dm;
      out[2 * k + 2] = Math.pow(dm, 1.5);
      return out;
    },
  };
}
