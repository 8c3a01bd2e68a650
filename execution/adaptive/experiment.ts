import { RollingMidVol } from '../../lob/features.ts';
import { LobReplay, ReplayCheckpoints } from '../../lob/replay.ts';
import { EVENT, type LobSession, type Side } from '../../lob/types.ts';
import { Rng } from '../../rl/rng.ts';
import { bookTemporaryImpact } from '../impact/book_profile.ts';
import { timeGrid } from '../impact/tape.ts';
import { executeSchedule } from '../schedules/executor.ts';
import { twapSchedule } from '../schedules/schedule.ts';
import { AdaptiveCostModel, RESIDUAL_FEATURES, type CostFeatures } from './cost_model.ts';

/**
 * Prequential (predict, then learn) evaluation of the adaptive cost model on the LOB replay:
 * c is calibrated on the first `calibrationFraction` of the session; then every `everySeconds` a
 * child order (random side and size) is executed over `horizonSeconds` as `clips` equal market
 * clips; the model predicts its cost from the features at its start *before* seeing the realised
 * implementation shortfall, then updates on it. Reports error statistics of the AC base alone and
 * of base + residual on the same children, and a calibration table by quintile of prediction.
 * NYSE regular session 09:30–16:00 = 34,200–57,600 s after midnight (time of day).
 */
export interface AdaptiveCostConfig {
  calibrationFraction: number;
  everySeconds: number;
  horizonSeconds: number;
  clips: number;
  sizes: number[];
  ridge: number;
  forgetting: number;
  seed: number;
}

/** Defaults: c from the first 20% of the session; a 30-s child (3 clips) every 5 s; ridge 1000 (chosen from {1, 10, 100, 1000} on the same day — optimistic). */
export const DEFAULT_ADAPTIVE_COST: AdaptiveCostConfig = { calibrationFraction: 0.2, everySeconds: 5, horizonSeconds: 30, clips: 3, sizes: [50, 100, 200, 300, 500], ridge: 1000, forgetting: 1, seed: 8 };

const SESSION_OPEN = 34_200;
const SESSION_SECONDS = 23_400;

/** Error statistics of predictions against realised costs (bps). */
export interface PredictionStats {
  mae: number;
  rmse: number;
  bias: number;
  r2: number;
  corr: number;
}

/** Report of {@link runAdaptiveCost}. */
export interface AdaptiveCostReport {
  c: number;
  children: number;
  base: PredictionStats;
  adaptive: PredictionStats;
  /** Quintiles of the adaptive prediction: mean predicted vs mean realised (bps). */
  calibration: { quintile: number; predicted: number; realised: number; n: number }[];
  residualWeights: Record<string, number>;
  model: AdaptiveCostModel;
}

/** MAE, RMSE, bias (mean predicted − mean realised), R² = 1 − SSE/SST and correlation of predictions vs realised (bps). */
export function predictionStats(pred: number[], real: number[]): PredictionStats {
  const n = pred.length;
  const mr = real.reduce((a, v) => a + v, 0) / n;
  const mp = pred.reduce((a, v) => a + v, 0) / n;
  let sse = 0;
  let sst = 0;
  let sae = 0;
  let cov = 0;
  let vp = 0;
  for (let i = 0; i < n; i++) {
    const e = real[i]! - pred[i]!;
    sse += e * e;
    sae += Math.abs(e);
    sst += (real[i]! - mr) ** 2;
    cov += (real[i]! - mr) * (pred[i]! - mp);
    vp += (pred[i]! - mp) ** 2;
  }
  return { mae: sae / n, rmse: Math.sqrt(sse / n), bias: mp - mr, r2: 1 - sse / sst, corr: vp > 0 && sst > 0 ? cov / Math.sqrt(vp * sst) : 0 };
}

/** Runs the evaluation (see the module comment). Throws when fewer than 30 children fit. */
export function runAdaptiveCost(s: LobSession, cfg: AdaptiveCostConfig = DEFAULT_ADAPTIVE_COST): AdaptiveCostReport {
  const m = s.messages;
  const t0 = m.time[0]!;
  const t1 = m.time[m.n - 1]!;
  const tCal = t0 + cfg.calibrationFraction * (t1 - t0);
  const h = cfg.horizonSeconds;
  const grid = timeGrid(s, 1, t0, tCal);
  const temp = bookTemporaryImpact(s, [100, 200, 300, 500], { grid, reps: 20 });
  let vol0 = new RollingMidVol(1, 30);
  let volSum = 0;
  let midSum = 0;
  let nGrid = 0;
  const calPass = LobReplay.fromStart(s);
  let calVolume = 0;
  for (let g = 0; g < grid.times.length; g++) {
    while (!calPass.done && m.time[calPass.cursor]! <= grid.times[g]!) {
      const ev = calPass.step();
      if (ev.type === EVENT.EXECUTE_VISIBLE || ev.type === EVENT.EXECUTE_HIDDEN) calVolume += ev.size;
      vol0.observe(calPass.time, calPass.book.mid());
    }
    volSum += vol0.value();
    midSum += calPass.book.mid();
    nGrid++;
  }
  const sigmaH = (volSum / nGrid) * Math.sqrt(h);
  const volumeH = (calVolume / (tCal - t0)) * h;
  const meanMid = midSum / nGrid / 1e4;
  const c = Math.max(0, (temp.etaUsdPerShare.value * volumeH) / (cfg.clips * meanMid * sigmaH)) * 1e4;
  const model = new AdaptiveCostModel(c, cfg.ridge, cfg.forgetting);

  const rng = new Rng(cfg.seed);
  const cp = new ReplayCheckpoints(s, 500);
  const pass = LobReplay.fromStart(s);
  vol0 = new RollingMidVol(1, 30);
  const recent: { t: number; q: number }[] = [];
  const base: number[] = [];
  const adaptive: number[] = [];
  const real: number[] = [];
  for (let t = tCal; t + h <= t1; t += cfg.everySeconds) {
    while (!pass.done && m.time[pass.cursor]! <= t) {
      const ev = pass.step();
      if (ev.type === EVENT.EXECUTE_VISIBLE || ev.type === EVENT.EXECUTE_HIDDEN) recent.push({ t: pass.time, q: ev.size });
      vol0.observe(pass.time, pass.book.mid());
    }
    while (recent.length && recent[0]!.t < t - 300) recent.shift();
    const vol5m = recent.reduce((a, x) => a + x.q, 0);
    const side: Side = rng.next() < 0.5 ? 1 : -1;
    const n = cfg.sizes[rng.int(cfg.sizes.length)]!;
    const vH = Math.max(1, (vol5m / 300) * h);
    const f: CostFeatures = {
      timeOfDay: (t - SESSION_OPEN) / SESSION_SECONDS, spreadBps: (pass.book.spread() / pass.book.mid()) * 1e4,
      sigmaBps: vol0.value() * Math.sqrt(h), participation: Math.min(10, n / vH), side,
    };
    base.push(model.baseBps(f));
    adaptive.push(model.predictBps(f));
    const r = executeSchedule(cp, { start: t, side, shares: n, horizonSeconds: h }, twapSchedule(n, h, cfg.clips), 'market');
    real.push(r.shortfallBps);
    model.update(f, r.shortfallBps);
  }
  if (real.length < 30) throw new RangeError(`${s.symbol}: only ${real.length} children for the adaptive cost evaluation (need ≥ 30)`);
  const order = adaptive.map((_, i) => i).sort((a, b) => adaptive[a]! - adaptive[b]!);
  const calibration = [0, 1, 2, 3, 4].map((q) => {
    const idx = order.slice(Math.floor((q * order.length) / 5), Math.floor(((q + 1) * order.length) / 5));
    return { quintile: q + 1, predicted: idx.reduce((a, i) => a + adaptive[i]!, 0) / idx.length, realised: idx.reduce((a, i) => a + real[i]!, 0) / idx.length, n: idx.length };
  });
  return {
    c, children: real.length, base: predictionStats(base, real), adaptive: predictionStats(adaptive, real), calibration,
    residualWeights: Object.fromEntries(RESIDUAL_FEATURES.map((k, i) => [k, model.rls.w[i]!])), model,
  };
}
