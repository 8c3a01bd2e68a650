/**
 * Deep hedging vs Black–Scholes delta hedging of a short ATM straddle (20 sessions, 1 bp costs),
 * trained on simulated paths calibrated to real NIFTY data and compared out of sample on REAL
 * NIFTY paths (and on fresh simulated paths).
 *
 * Calibration (data ≤ `trainEnd` only): GBM σ = mean front-expiry ATM IV of the options features
 * dated ≤ trainEnd; Heston by regression on India VIX² (hedging/heston-fit.ts) over `hestonFrom`..trainEnd.
 * Training: `nTrain` paths per model, premium = BS straddle at σ (GBM) or the Monte-Carlo mean payoff
 * (Heston, zero rate) — CVaR is translation-equivariant, so the premium does not change the hedge.
 * Real test paths: every window of `steps` + 1 consecutive NIFTY 50 closes starting on an options
 * date ≥ `testStart` (overlapping windows, so the paths are not independent), normalised to S₀ = 1,
 * strike K = S₀, premium = BS straddle at that date's real ATM IV (the market's price of the straddle,
 * read off the surface); the BS hedger uses that IV, the networks their training calibration.
 * Clock: T = steps sessions of calendar nse (calendar/calendar.ts `years`), dt = one session. P&L
 * reported in basis points of notional S₀.
 */
import { calendarFor } from '../../calendar/calendar.ts';
import type { DailyClose } from '../data/index-series.ts';
import type { OptionsFeatureRow } from '../features/compute.ts';
import { cvar, mean, sampleStd } from '../stats/series.ts';
import { trainDeepHedger, mlpHedger, type DeepHedgeConfig } from './deep-hedge.ts';
import { fitHestonToVix, type HestonFit } from './heston-fit.ts';
import { bsDeltaHedger, bsStraddle, shortStraddlePnl, type Hedger } from './hedge-pnl.ts';
import { gbmPaths, hestonPaths } from './simulate.ts';

/** The session clock of the study: NSE trading sessions. */
const NSE = calendarFor('nse');

/** Study settings. */
export interface HedgingStudyConfig {
  steps?: number;
  trainEnd: string;
  testStart: string;
  hestonFrom?: string;
  nTrain?: number;
  nSimTest?: number;
  costRate?: number;
  alpha?: number;
  seed?: number;
  deep?: DeepHedgeConfig;
}

/** One row of the comparison table (P&L in bps of notional). */
export interface HedgeRow {
  paths: 'real' | 'sim_gbm' | 'sim_heston';
  hedger: 'bs_delta' | 'deep_gbm' | 'deep_heston' | 'unhedged';
  n: number;
  mean: number;
  std: number;
  variance: number;
  cvar95: number;
}

/** Study output. */
export interface HedgingStudy {
  sigmaGbm: number;
  heston: HestonFit;
  hestonPremium: number;
  hestonImpliedVol: number;
  realPaths: number;
  training: Record<'deep_gbm' | 'deep_heston', { seconds: number; firstLoss: number; finalLoss: number }>;
  table: HedgeRow[];
}

/** Runs the study (see module docs). Throws when no calibration IV or no real test path exists. */
export async function hedgingStudy(features: readonly OptionsFeatureRow[], nifty: readonly DailyClose[], vix: readonly DailyClose[], cfg: HedgingStudyConfig): Promise<HedgingStudy> {
  const steps = cfg.steps ?? 20;
  const T = NSE.years(steps);
  const dt = NSE.years(1);
  const c = cfg.costRate ?? 1e-4;
  const seed = cfg.seed ?? 7;
  const ivs = features.filter((f) => f.date <= cfg.trainEnd && Number.isFinite(f.values.atm_iv)).map((f) => f.values.atm_iv / 100);
  if (ivs.length === 0) throw new RangeError(`hedgingStudy: no ATM IV on or before ${cfg.trainEnd}`);
  const sigmaGbm = mean(ivs);
  const heston = fitHestonToVix(nifty, vix, cfg.hestonFrom ?? '2015-01-01', cfg.trainEnd);
  const nTrain = cfg.nTrain ?? 8000;
  const gTrain = gbmPaths(nTrain, steps, dt, sigmaGbm, seed);
  const hTrain = hestonPaths(nTrain, steps, dt, heston, seed + 1);
  const gPrem = bsStraddle(1, 1, sigmaGbm, T);
  const hPrem = meanPayoff(hTrain, steps);
  const hIv = impliedStraddleVol(hPrem, T);
  const deep = { alpha: cfg.alpha ?? 0.95, costRate: c, ...cfg.deep };
  const dg = await trainDeepHedger(gTrain, steps, T, 1, gPrem, { seed, ...deep });
  const dh = await trainDeepHedger(hTrain, steps, T, 1, hPrem, { seed: seed + 1, ...deep });
  const nets: Record<'deep_gbm' | 'deep_heston', Hedger> = { deep_gbm: mlpHedger(dg.params, T), deep_heston: mlpHedger(dh.params, T) };
  const real = realPaths(features, nifty, cfg.testStart, steps);
  if (real.length === 0) throw new RangeError(`hedgingStudy: no real ${steps}-session NIFTY window starts on or after ${cfg.testStart}`);
  const nSim = cfg.nSimTest ?? 4000;
  const gTest = gbmPaths(nSim, steps, dt, sigmaGbm, seed + 100);
  const hTest = hestonPaths(nSim, steps, dt, heston, seed + 101);
  const table: HedgeRow[] = [];
  const evalSet = (name: HedgeRow['paths'], paths: Array<{ path: ArrayLike<number>; premium: number; sigma: number }>) => {
    for (const hedger of ['bs_delta', 'deep_gbm', 'deep_heston', 'unhedged'] as const) {
      const pnl = paths.map((p) => 1e4 * shortStraddlePnl(p.path, 1, p.premium, hedger === 'bs_delta' ? bsDeltaHedger(p.sigma, T) : hedger === 'unhedged' ? () => 0 : nets[hedger], c));
      const sd = sampleStd(pnl);
      table.push({ paths: name, hedger, n: pnl.length, mean: mean(pnl), std: sd, variance: sd * sd, cvar95: cvar(pnl, 0.95) });
    }
  };
  evalSet('real', real);
  evalSet('sim_gbm', rows(gTest, steps).map((path) => ({ path, premium: gPrem, sigma: sigmaGbm })));
  evalSet('sim_heston', rows(hTest, steps).map((path) => ({ path, premium: hPrem, sigma: hIv })));
  const tr = (r: { seconds: number; curve: number[] }) => ({ seconds: r.seconds, firstLoss: r.curve[0]!, finalLoss: mean(r.curve.slice(-20)) });
  return { sigmaGbm, heston, hestonPremium: hPrem, hestonImpliedVol: hIv, realPaths: real.length, training: { deep_gbm: tr(dg), deep_heston: tr(dh) }, table };
}

/** Real NIFTY windows starting on option dates ≥ testStart with a finite ATM IV (see module docs). */
export function realPaths(features: readonly OptionsFeatureRow[], nifty: readonly DailyClose[], testStart: string, steps: number): Array<{ start: string; path: number[]; premium: number; sigma: number }> {
  const pos = new Map(nifty.map((c, i) => [c.date, i]));
  const out: Array<{ start: string; path: number[]; premium: number; sigma: number }> = [];
  for (const f of features) {
    const i = pos.get(f.date);
    if (f.date < testStart || i === undefined || i + steps >= nifty.length || !Number.isFinite(f.values.atm_iv)) continue;
    const s0 = nifty[i]!.close;
    const sigma = f.values.atm_iv / 100;
    out.push({ start: f.date, path: nifty.slice(i, i + steps + 1).map((x) => x.close / s0), premium: bsStraddle(1, 1, sigma, NSE.years(steps)), sigma });
  }
  return out;
}

function rows(paths: Float64Array, steps: number): Float64Array[] {
  const n = paths.length / (steps + 1);
  return Array.from({ length: n }, (_, i) => paths.subarray(i * (steps + 1), (i + 1) * (steps + 1)));
}

function meanPayoff(paths: Float64Array, steps: number): number {
  return mean(rows(paths, steps).map((p) => Math.abs(p[steps]! - 1)));
}

/** σ with bsStraddle(1, 1, σ, T) = premium, by bisection on [1e-4, 3]. */
function impliedStraddleVol(premium: number, t: number): number {
  let lo = 1e-4;
  let hi = 3;
  for (let i = 0; i < 200; i++) {
    const m = 0.5 * (lo + hi);
    if (bsStraddle(1, 1, m, t) < premium) lo = m;
    else hi = m;
  }
  return 0.5 * (lo + hi);
}
