import { calendarFor } from '../calendar/calendar.ts';
import { MmEnv } from './rl_env.ts';

/**
 * Evaluation of a market-making policy on every evaluation episode of a market: PnL, annualised
 * Sharpe, inventory distribution, fill rate and spread captured.
 * Sharpe: mean / std of the PnL of consecutive bars of `stepsPerBar` decision steps (pooled over
 * episodes, zero risk-free rate), × √(bars per year) of calendar `calendar` (calendar/calendar.ts:
 * e.g. `nyse@1m` for one-minute bars of a US equity session, `24x7@1h` for hourly crypto bars).
 */
export interface MmMetrics {
  policy: string;
  episodes: number;
  /** Mean and standard deviation of episode PnL (currency). */
  pnlMean: number;
  pnlStd: number;
  sharpe: number;
  calendar: string;
  barsPerYear: number;
  /** Inventory (lots) over all decision steps. */
  inventory: { meanAbs: number; std: number; maxAbs: number; histogram: Record<string, number> };
  terminalMeanAbsInventory: number;
  /** Filled lots per side per decision step. */
  fillRate: number;
  fillsPerEpisode: number;
  /** Mean over fills of the distance of our price from the mid at the fill, bps of the mid (positive = earned). */
  spreadCapturedBps: number;
}

/** Runs `policy` (state → action of {@link MmEnv}) on every evaluation episode of `env.market`. Deterministic. */
export function evaluateMm(name: string, env: MmEnv, policy: (s: Float64Array) => number, stepsPerBar: number, calendar: string): MmMetrics {
  const cal = calendarFor(calendar);
  const m = env.market;
  const pnl: number[] = [];
  const bars: number[] = [];
  const inv: number[] = [];
  const terminal: number[] = [];
  let fillLots = 0;
  let fills = 0;
  let steps = 0;
  let captured = 0;
  const hist: Record<string, number> = {};
  for (let e = 0; e < m.episodes(); e++) {
    let s = env.begin(e);
    const w0 = m.wealth();
    let wBar = w0;
    let k = 0;
    while (!m.done()) {
      const st = env.step(policy(s));
      s = st.next;
      for (const f of env.lastFills) {
        fills++;
        fillLots += f.lots;
        captured += ((f.side * (f.mid - f.price)) / f.mid) * 1e4;
      }
      k++;
      steps++;
      const q = m.inventory();
      inv.push(q);
      const key = String(Math.round(q));
      hist[key] = (hist[key] ?? 0) + 1;
      if (k % stepsPerBar === 0 || m.done()) {
        bars.push(m.wealth() - wBar);
        wBar = m.wealth();
      }
    }
    pnl.push(m.wealth() - w0);
    terminal.push(Math.abs(m.inventory()));
  }
  const mean = (x: number[]) => x.reduce((a, v) => a + v, 0) / Math.max(1, x.length);
  const std = (x: number[]) => {
    const mu = mean(x);
    return Math.sqrt(x.reduce((a, v) => a + (v - mu) ** 2, 0) / Math.max(1, x.length - 1));
  };
  return {
    policy: name, episodes: pnl.length, pnlMean: mean(pnl), pnlStd: std(pnl),
    sharpe: cal.sharpe(mean(bars), std(bars)), calendar, barsPerYear: cal.barsPerYear,
    inventory: { meanAbs: mean(inv.map(Math.abs)), std: std(inv), maxAbs: Math.max(0, ...inv.map(Math.abs)), histogram: hist },
    terminalMeanAbsInventory: mean(terminal),
    fillRate: fillLots / Math.max(1, 2 * steps), fillsPerEpisode: fills / Math.max(1, pnl.length),
    spreadCapturedBps: fills ? captured / fills : 0,
  };
}
