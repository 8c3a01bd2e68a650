import type { TradingCalendar } from '../calendar/calendar.ts';
import { StepError } from '../lib/errors.ts';
import type { PricePanel } from './panel.ts';
import type { CostConfig, RiskInputs } from '../execution/cost_models.ts';

/**
 * A per-trade market-impact cost with the shape of `impactCost` (execution/cost_models.ts):
 * (signed Δw as a fraction of capital, σ_daily (fraction), ADV (USD, excludes the decision day),
 * cfg) → cost as a fraction of capital. σ and ADV may be NaN (unknown): the function decides the
 * fallback.
 */
export type ImpactFn = (dw: number, sigmaDaily: number, advUsd: number, cfg: CostConfig) => number;

/** The price leg a day's holdings earn over (runPath): close-to-close, overnight or intraday. */
type Leg = 'close_to_close' | 'overnight' | 'intraday';

/** When target weights decided at the close of t are traded. */
export type ExecutionTiming = 'close' | 'next_open';

/** Daily series of one backtested path (length T, aligned with the panel's dates; fractions of capital). */
export interface PathSeries {
  gross: Float64Array;
  fee: Float64Array;
  spread: Float64Array;
  impact: Float64Array;
  borrow: Float64Array;
  /** gross − fee − spread − impact − borrow. */
  net: Float64Array;
  /** One-way traded notional Σ|Δw| on the day (fraction of capital). */
  turnover: Float64Array;
  /** Σ|w| and Σw of the holdings after that day's trades. */
  grossExposure: Float64Array;
  netExposure: Float64Array;
  /** Weight (Σ|w|) that targets put on names without a price on the execution day and was dropped. */
  untradeable: number;
}

/**
 * Deterministic daily backtest of one path.
 *
 * Timing rule (the engine's contract, asserted in the loop): the target row W[t] (t·N + i) is decided
 * at the close of date t with information ≤ t. With `close` execution it is traded at close_t and earns
 * close-to-close returns from t+1 on; with `next_open` it is traded at open_{t+1}, the old holdings
 * earn the overnight move close_t → open_{t+1} and the new ones open_{t+1} → close_{t+1}. The P&L of
 * date d therefore only ever uses targets with decision index < d. Holdings drift with prices between
 * trades; a name without a close on a day is held at its last price (return 0). Costs are charged on
 * the day they occur: fees, half-spread and square-root impact on the execution day, borrow on each
 * day a short is held overnight (charged to the day the overnight period ends) at the annual tier
 * rate per bar of `cal` (annual_bps / 1e4 / bars per year).
 * `impactFn`, when given, replaces the inline square-root impact of each traded name (called with
 * the signed Δw and the σ / ADV known at the decision date; e.g. execution/adaptive/cost_model.ts
 * adaptiveImpactCost); without it the square-root law below is computed inline, unchanged.
 * Throws StepError('LookAheadViolation') if the timing invariant is ever broken.
 */
export function runPath(W: Float64Array, panel: PricePanel, risk: RiskInputs, costs: CostConfig, cal: TradingCalendar, execution: ExecutionTiming = 'close', impactFn?: ImpactFn): PathSeries {
  const { T, N, open, close } = panel;
  if (W.length !== T * N) throw new StepError({ message: `weights have ${W.length} cells, panel is ${T}×${N}`, type: 'ShapeMismatch', nonRetryable: true });
  const gross = new Float64Array(T);
  const fee = new Float64Array(T);
  const spread = new Float64Array(T);
  const impact = new Float64Array(T);
  const borrow = new Float64Array(T);
  const net = new Float64Array(T);
  const turnover = new Float64Array(T);
  const gExp = new Float64Array(T);
  const nExp = new Float64Array(T);
  const h = new Float64Array(N); // current holdings (fractions of capital)
  const { ret, sigma, adv } = risk;
  const tiers = [...costs.borrow.tiers].sort((a, b) => b.min_adv_usd - a.min_adv_usd);
  const nt = tiers.length;
  const tierAdv = Float64Array.from(tiers.map((t) => t.min_adv_usd));
  const tierRate = Float64Array.from(tiers.map((t) => cal.perBar(t.annual_bps / 1e4)));
  const feeRate = costs.fee_bps / 1e4;
  const spreadRate = costs.half_spread_bps / 1e4;
  const Y = costs.impact.coefficient;
  const cap = costs.capital_usd;
  const missRate = costs.impact.missing_bps / 1e4;
  let untradeable = 0;

  /** Borrow over the overnight period ending at day d for holdings h (shorts), rates from ADV known at d−1. */
  const borrowOf = (row: number): number => {
    let b = 0;
    for (let i = 0; i < N; i++) {
      const w = h[i]!;
      if (w < 0) {
        const a = adv[row + i]!;
        let r = tierRate[nt - 1]!;
        if (a === a) {
          for (let j = 0; j < nt; j++) {
            if (a >= tierAdv[j]!) {
              r = tierRate[j]!;
              break;
            }
          }
        }
        b -= w * r;
      }
    }
    return b;
  };
  /** Trades holdings h to target row `dec` at prices of day `exec`; returns costs into the arrays at `exec`. */
  const trade = (dec: number, exec: number, at: 'close' | 'open'): void => {
    if (dec >= exec + (execution === 'close' ? 1 : 0)) {
      throw new StepError({ message: `timing rule violated: targets decided at ${panel.dates[dec]} traded at ${panel.dates[exec]}`, type: 'LookAheadViolation', nonRetryable: true });
    }
    const wRow = dec * N;
    const rRow = exec * N;
    // σ and ADV known at the decision date (ADV excludes that day's volume).
    const riskRow = dec * N;
    let traded = 0;
    let imp = 0;
    let ge = 0;
    let ne = 0;
    for (let i = 0; i < N; i++) {
      let target = W[wRow + i]!;
      if (target !== target) target = 0;
      if (!(at === 'close' ? close[rRow + i]! > 0 : openOk(rRow + i))) {
        // cannot trade this name today: keep what we hold
        if (target !== h[i]) untradeable += Math.abs(target - h[i]!);
        target = h[i]!;
      }
      const dw = target - h[i]!;
      if (dw !== 0) {
        const a = dw < 0 ? -dw : dw;
        traded += a;
        const s = sigma[riskRow + i]!;
        const v = adv[riskRow + i]!;
        if (impactFn) imp += impactFn(dw, s, v, costs);
        else imp += s >= 0 && v > 0 ? a * Y * s * Math.sqrt((a * cap) / v) : a * missRate;
      }
      h[i] = target;
      ge += target < 0 ? -target : target;
      ne += target;
    }
    turnover[exec] += traded;
    fee[exec] += traded * feeRate;
    spread[exec] += traded * spreadRate;
    impact[exec] += imp;
    gExp[exec] = ge;
    nExp[exec] = ne;
  };
  /** A name can trade at the open of its row k: an open print, or a close today and yesterday. */
  const openOk = (k: number): boolean => open[k]! > 0 || (close[k]! > 0 && k >= N && close[k - N]! > 0);
  /** Simple return of cell k over the leg: close-to-close, overnight (close_{t−1} → open_t) or intraday (open_t → close_t). */
  const legReturn = (leg: Leg, k: number): number => {
    if (leg === 'close_to_close') return ret[k]!;
    const o = open[k]!;
    if (leg === 'overnight') {
      const p = k >= N ? close[k - N]! : NaN;
      return o > 0 && p > 0 ? o / p - 1 : 0;
    }
    const c = close[k]!;
    if (c > 0 && o > 0) return c / o - 1;
    const r = ret[k]!;
    return r === r ? r : 0;
  };
  /** Applies each held name's return over `leg` on `row` to the holdings; returns the portfolio return and drifts h. */
  const earn = (row: number, leg: Leg): number => {
    let g = 0;
    let tot = 1;
    for (let i = 0; i < N; i++) {
      const w = h[i]!;
      if (w === 0) continue;
      const x = legReturn(leg, row + i);
      if (x === x) {
        g += w * x;
        h[i] = w * (1 + x);
      }
    }
    tot += g;
    if (tot > 0) for (let i = 0; i < N; i++) h[i] = h[i]! / tot;
    return g;
  };

  for (let d = 0; d < T; d++) {
    const row = d * N;
    if (d > 0) {
      borrow[d] = borrowOf((d - 1) * N);
      if (execution === 'close') {
        gross[d] = earn(row, 'close_to_close');
      } else {
        const gOn = earn(row, 'overnight');
        trade(d - 1, d, 'open');
        const gId = earn(row, 'intraday');
        gross[d] = (1 + gOn) * (1 + gId) - 1;
      }
    }
    if (execution === 'close') trade(d, d, 'close');
    net[d] = gross[d]! - fee[d]! - spread[d]! - impact[d]! - borrow[d]!;
  }
  return { gross, fee, spread, impact, borrow, net, turnover, grossExposure: gExp, netExposure: nExp, untradeable };
}

/** Result of {@link forwardIcCheck}. */
export interface ForwardIcCheck {
  /** Mean over dates of the Pearson correlation between targets decided at t and the (±3σ clipped) close-to-close return of t+1. */
  mean_ic: number;
  /** t-statistic of the daily ICs. */
  t_stat: number;
  /** Days with at least 10 non-zero targets and returns. */
  n_days: number;
  /** Same statistic against the return of day t itself (known at the decision: legitimate), on every 5th day. */
  same_day_ic: number;
}

/**
 * Look-ahead detector for target weights. Genuine daily cross-sectional equity signals have a mean
 * IC against the next day's return of a few hundredths at best; weights built from information
 * of day t+1 (predictions shifted into the future) reach 0.2+. The engine calls this for every path and
 * {@link assertNoLookAhead} throws when the mean forward IC exceeds the configured ceiling.
 */
export function forwardIcCheck(W: Float64Array, panel: PricePanel, ret: Float64Array): ForwardIcCheck {
  const { T, N } = panel;
  const xs = new Float64Array(N);
  const ys = new Float64Array(N);
  const zs = new Float64Array(N);
  const ics: number[] = [];
  const same: number[] = [];
  for (let t = 0; t + 1 < T; t++) {
    let n = 0;
    for (let i = 0; i < N; i++) {
      const w = W[t * N + i]!;
      const r1 = ret[(t + 1) * N + i]!;
      if (w !== 0 && w === w && r1 === r1) {
        xs[n] = w;
        ys[n] = r1;
        const r0 = ret[t * N + i]!;
        zs[n] = r0 === r0 ? r0 : 0;
        n++;
      }
    }
    if (n < 10) continue;
    clip3(ys, n);
    ics.push(pearson(xs, ys, n));
    if (t % 5 === 0) {
      // same-day IC is informational only: a 1-in-5 sample of days keeps the check cheap
      clip3(zs, n);
      same.push(pearson(xs, zs, n));
    }
  }
  const m = ics.length;
  if (m === 0) return { mean_ic: 0, t_stat: 0, n_days: 0, same_day_ic: 0 };
  const mean = ics.reduce((a, b) => a + b, 0) / m;
  const sd = m > 1 ? Math.sqrt(ics.reduce((a, b) => a + (b - mean) ** 2, 0) / (m - 1)) : 0;
  return { mean_ic: mean, t_stat: sd > 0 ? (mean / sd) * Math.sqrt(m) : 0, n_days: m, same_day_ic: same.length ? same.reduce((a, b) => a + b, 0) / same.length : 0 };
}

/**
 * Throws StepError('LookAheadDetected', non-retryable) when the forward IC of a path's targets is
 * implausibly high (mean IC > `maxIc` with t-stat > 5): the weights must have used information from
 * after their decision date.
 */
export function assertNoLookAhead(check: ForwardIcCheck, path: number, maxIc: number): void {
  if (check.mean_ic > maxIc && check.t_stat > 5) {
    throw new StepError(
      { message: `look-ahead detected on path ${path}: targets decided at t have a mean IC of ${check.mean_ic.toFixed(3)} ` +
        `(t=${check.t_stat.toFixed(1)}, ${check.n_days} days) with the return of t+1, above the plausibility ceiling ${maxIc}; ` +
        `predictions appear to use information after their date (check the stack/fit dates)`, type: 'LookAheadDetected', nonRetryable: true, details: { path, ...check, max_forward_ic: maxIc } },
    );
  }
}

/** Clips v[0..n) to mean ± 3·std (cross-sectional winsorising of bad prints and jumps). */
function clip3(v: Float64Array, n: number): void {
  let m = 0;
  for (let i = 0; i < n; i++) m += v[i]!;
  m /= n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (v[i]! - m) ** 2;
  const lim = 3 * Math.sqrt(ss / n);
  for (let i = 0; i < n; i++) {
    const x = v[i]! - m;
    if (x > lim) v[i] = m + lim;
    else if (x < -lim) v[i] = m - lim;
  }
}

function pearson(a: Float64Array, b: Float64Array, n: number): number {
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const x = a[i]! - ma;
    const y = b[i]! - mb;
    sab += x * y;
    saa += x * x;
    sbb += y * y;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : 0;
}
