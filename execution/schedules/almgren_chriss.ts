import { intervalLength, roundTrades, type Schedule } from './schedule.ts';

/**
 * Almgren & Chriss (2000), "Optimal execution of portfolio transactions", J. Risk 3(2): the
 * discrete-time mean–variance optimal liquidation of X shares in N intervals of τ = T/N seconds
 * under arithmetic Brownian motion, linear permanent impact g(v) = γv and linear temporary impact
 * h(n_k/τ) = ε·sgn(n_k) + (η/τ)·n_k.
 *
 * Units: σ in USD/(share·√s) (price volatility per √second), γ in USD/share², η in USD·s/share²,
 * ε in USD/share, λ (risk aversion) in 1/USD; cost in USD.
 */
export interface AcParams {
  /** σ: price volatility, USD per √second. */
  sigma: number;
  /** γ: permanent impact, USD per share per share traded. */
  gamma: number;
  /** η: temporary impact, USD·s per share² (cost per share = ε + η·n/τ). */
  eta: number;
  /** ε: fixed cost per share (half-spread + fees), USD. */
  epsilon: number;
}

/** η̃ = η − γτ/2 (AC eq. 15); must be > 0 for a convex problem. */
export function etaTilde(p: AcParams, tau: number): number {
  return p.eta - (p.gamma * tau) / 2;
}

/**
 * κ of the optimal trajectory for risk aversion λ: (2/τ²)(cosh(κτ) − 1) = κ̃² = λσ²/η̃ (AC eq. 19–20),
 * i.e. κ = arccosh(1 + κ̃²τ²/2)/τ. Throws RangeError when η̃ ≤ 0 or λ < 0.
 */
export function acKappa(p: AcParams, lambda: number, tau: number): number {
  if (!(lambda >= 0)) throw new RangeError(`risk aversion λ must be ≥ 0, got ${lambda}`);
  const et = etaTilde(p, tau);
  if (!(et > 0)) throw new RangeError(`η̃ = η − γτ/2 = ${et} must be > 0 (η ${p.eta}, γ ${p.gamma}, τ ${tau} s); use shorter intervals τ or a larger temporary impact η`);
  const k2 = (lambda * p.sigma * p.sigma) / et;
  return Math.acosh(1 + (k2 * tau * tau) / 2) / tau;
}

/**
 * Optimal holdings x_j = X·sinh(κ(T − t_j))/sinh(κT), j = 0..N (AC eq. 18); the λ → 0 limit (κ = 0)
 * is the linear TWAP trajectory x_j = X(1 − j/N). Continuous shares.
 */
export function acHoldings(X: number, horizonSeconds: number, intervals: number, p: AcParams, lambda: number): number[] {
  const tau = intervalLength(horizonSeconds, intervals);
  const kappa = acKappa(p, lambda, tau);
  const T = horizonSeconds;
  return Array.from({ length: intervals + 1 }, (_, j) => {
    const t = j * tau;
    if (kappa * T < 1e-9) return X * (1 - j / intervals);
    return (X * Math.sinh(kappa * (T - t))) / Math.sinh(kappa * T);
  });
}

/** The AC schedule (whole-share child orders) for risk aversion λ. */
export function acSchedule(X: number, horizonSeconds: number, intervals: number, p: AcParams, lambda: number): Schedule {
  return { name: `AC(λ=${lambda.toExponential(1)})`, shares: X, horizonSeconds, trades: roundTrades(X, acHoldings(X, horizonSeconds, intervals, p, lambda)) };
}

/**
 * Expected cost and variance of a holdings path x_0..x_N (AC eqs. 9–10, selling; n_k = x_{k−1} − x_k):
 *   E = ½γX² + ε·Σ|n_k| + (η̃/τ)·Σ n_k²,  V = σ²·Σ_{k=1}^{N} τ·x_k².
 * USD and USD². Throws when the path is shorter than 2 points.
 */
export function acCostMoments(x: number[], horizonSeconds: number, p: AcParams): { expected: number; variance: number } {
  if (x.length < 2) throw new RangeError('holdings path needs at least x_0 and x_N');
  const N = x.length - 1;
  const tau = intervalLength(horizonSeconds, N);
  const et = etaTilde(p, tau);
  let e = 0.5 * p.gamma * x[0]! * x[0]!;
  let v = 0;
  for (let k = 1; k <= N; k++) {
    const n = x[k - 1]! - x[k]!;
    e += p.epsilon * Math.abs(n) + (et / tau) * n * n;
    v += tau * x[k]! * x[k]!;
  }
  return { expected: e, variance: p.sigma * p.sigma * v };
}

/** The mean–variance objective U = E + λV of a holdings path (AC eq. 12). */
export function acObjective(x: number[], horizonSeconds: number, p: AcParams, lambda: number): number {
  const m = acCostMoments(x, horizonSeconds, p);
  return m.expected + lambda * m.variance;
}

/** One point of the efficient frontier: λ, E[cost] and √V of the optimal path (USD). */
export interface FrontierPoint {
  lambda: number;
  kappa: number;
  expectedCost: number;
  stdCost: number;
}

/** The efficient frontier (E, √V) over risk aversions `lambdas` (AC §3). */
export function acFrontier(X: number, horizonSeconds: number, intervals: number, p: AcParams, lambdas: number[]): FrontierPoint[] {
  const tau = intervalLength(horizonSeconds, intervals);
  return lambdas.map((lambda) => {
    const m = acCostMoments(acHoldings(X, horizonSeconds, intervals, p, lambda), horizonSeconds, p);
    return { lambda, kappa: acKappa(p, lambda, tau), expectedCost: m.expected, stdCost: Math.sqrt(m.variance) };
  });
}

/**
 * The risk aversion λ whose optimal trajectory has urgency κT = `kappaT` (a unit-free way to pick a
 * range of λ): κ̃² = (2/τ²)(cosh(κτ) − 1), λ = κ̃²·η̃/σ² (inverse of AC eq. 19–20). 1/USD.
 */
export function acLambdaForKappaT(kappaT: number, horizonSeconds: number, intervals: number, p: AcParams): number {
  if (!(kappaT >= 0)) throw new RangeError(`κT must be ≥ 0, got ${kappaT}`);
  const tau = intervalLength(horizonSeconds, intervals);
  const kappa = kappaT / horizonSeconds;
  const k2 = (2 / (tau * tau)) * (Math.cosh(kappa * tau) - 1);
  return (k2 * etaTilde(p, tau)) / (p.sigma * p.sigma);
}
