import { ReplayCheckpoints } from '../../lob/replay.ts';
import type { LobSession } from '../../lob/types.ts';
import { calibrateAc } from '../impact/ac_params.ts';
import { acCostMoments, acHoldings, acLambdaForKappaT, acSchedule } from './almgren_chriss.ts';
import { type ChildStyle, episodeStarts, executeSchedule } from './executor.ts';
import { twapSchedule, type Schedule } from './schedule.ts';
import { shortfallRow, type ShortfallRow } from './table.ts';
import { volumeProfile, vwapSchedule } from './vwap.ts';

/**
 * TWAP, VWAP and Almgren–Chriss schedules for a range of risk aversions executed in the replay
 * over many parent orders of one session (starts every `strideSeconds`, each as a buy and a sell):
 * implementation shortfall mean (block-bootstrap CI) and standard deviation per strategy, next to
 * the AC model's own prediction (E and √V of the cost, in bps of the arrival notional) from the
 * parameters calibrated on the same session.
 */
export interface ScheduleBenchConfig {
  shares: number;
  horizonSeconds: number;
  intervals: number;
  strideSeconds: number;
  kappaT: number[];
  styles: ChildStyle[];
}

/** Defaults: 1,000-share parents over 5 minutes in 10 intervals, a start every 20 s, κT ∈ {0, 1, 3, 6}, market and passive children. */
export const DEFAULT_SCHEDULE_BENCH: ScheduleBenchConfig = { shares: 1000, horizonSeconds: 300, intervals: 10, strideSeconds: 20, kappaT: [0, 1, 3, 6], styles: ['market', 'passive'] };

/** A shortfall row plus, for AC rows, λ (1/USD) and the AC model's own cost prediction. */
export interface ScheduleBenchRow extends ShortfallRow {
  lambda?: number;
  /** AC-model expected cost and its standard deviation, bps (market child orders only). */
  acPredictedMeanBps?: number;
  acPredictedStdBps?: number;
}

/** Runs every strategy × child style on the same parent orders (see the module comment). Deterministic. */
export function runScheduleBenchmarks(s: LobSession, cfg: ScheduleBenchConfig = DEFAULT_SCHEDULE_BENCH): { rows: ScheduleBenchRow[]; episodes: number; ac: ReturnType<typeof calibrateAc> } {
  const { shares: X, horizonSeconds: T, intervals: N } = cfg;
  const ac = calibrateAc(s, T / N);
  const m = s.messages;
  const eps = episodeStarts(m.time[0]! + 30, m.time[m.n - 1]!, cfg.strideSeconds, X, T);
  const starts = eps.map((e) => e.start);
  const cp = new ReplayCheckpoints(s, 500);
  const meanMid = eps.reduce((a, e) => a + cp.atTime(e.start).book.mid(), 0) / eps.length / 1e4;
  const strategies: { name: string; make: (start: number) => Schedule; lambda?: number; holdings?: number[] }[] = [
    { name: 'TWAP', make: () => twapSchedule(X, T, N) },
    { name: 'VWAP', make: (start) => vwapSchedule(X, T, volumeProfile(s, start, T, N)) },
    ...cfg.kappaT.filter((k) => k > 0).map((kT) => {
      const lambda = acLambdaForKappaT(kT, T, N, ac.params);
      return { name: `AC κT=${kT}`, lambda, make: () => acSchedule(X, T, N, ac.params, lambda), holdings: acHoldings(X, T, N, ac.params, lambda) };
    }),
  ];
  const rows: ScheduleBenchRow[] = [];
  for (const st of strategies) {
    for (const style of cfg.styles) {
      const res = eps.map((e) => executeSchedule(cp, e, st.make(e.start), style));
      const row: ScheduleBenchRow = shortfallRow(`${st.name}${style === 'passive' ? ' passive' : ''}`, res.map((r) => r.shortfallBps), starts, { forced: res.filter((r) => r.unfilledAtDeadline > 0).length });
      const x = st.holdings ?? (st.name === 'TWAP' ? acHoldings(X, T, N, ac.params, 0) : undefined);
      if (style === 'market' && x) {
        const mo = acCostMoments(x, T, ac.params);
        row.acPredictedMeanBps = (mo.expected / (X * meanMid)) * 1e4;
        row.acPredictedStdBps = (Math.sqrt(mo.variance) / (X * meanMid)) * 1e4;
      }
      if (st.lambda !== undefined) row.lambda = st.lambda;
      rows.push(row);
    }
  }
  return { rows, episodes: eps.length, ac };
}
