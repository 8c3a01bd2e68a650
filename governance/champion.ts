import type { TradingCalendar } from '../calendar/calendar.ts';
import { moments, median } from './stats.ts';

/** Daily net returns of one strategy on the CPCV paths: one row per (path, date). */
export interface PathReturn {
  path: number;
  /** ISO date `YYYY-MM-DD`. */
  date: string;
  net: number;
}

/** Per-path comparison row (Sharpe annualised with √(bars per year) of the calendar). */
export interface ChampionPathRow {
  path: number;
  n_days: number;
  challenger_sharpe: number;
  champion_sharpe: number;
  diff: number;
}

/** Result of {@link compareChampion}. */
export interface ChampionComparison {
  n_paths: number;
  n_days: number;
  per_path: ChampionPathRow[];
  challenger_sharpe_median: number;
  champion_sharpe_median: number;
  /** Share of common paths on which the challenger's Sharpe is higher. */
  win_rate: number;
  /** Mean daily difference challenger − champion (fraction of capital) over all common (path, date). */
  mean_daily_diff: number;
  /** t-statistic of the daily differences (not adjusted for the overlap of paths; indicative). */
  t_stat: number;
  /** True when the challenger's median path Sharpe is strictly higher than the champion's. */
  challenger_better: boolean;
}

/**
 * Challenger vs champion on the SAME paths and dates: only (path, date) pairs present in both inputs
 * are compared, so a champion evaluated on other paths cannot be matched by accident.
 * Sharpe per path = mean/std·√B of per-bar net returns, B = bars per year of `cal`.
 * Throws RangeError when nothing overlaps.
 */
export function compareChampion(challengerPaths: readonly PathReturn[], championPaths: readonly PathReturn[], cal: TradingCalendar): ChampionComparison {
  const champ = new Map<string, number>();
  for (const r of championPaths) champ.set(`${r.path}|${r.date}`, r.net);
  const byPath = new Map<number, { a: number[]; b: number[] }>();
  const diffs: number[] = [];
  const sorted = [...challengerPaths].sort((x, y) => x.path - y.path || (x.date < y.date ? -1 : x.date > y.date ? 1 : 0));
  for (const r of sorted) {
    const c = champ.get(`${r.path}|${r.date}`);
    if (c === undefined || !Number.isFinite(c) || !Number.isFinite(r.net)) continue;
    let e = byPath.get(r.path);
    if (!e) byPath.set(r.path, (e = { a: [], b: [] }));
    e.a.push(r.net);
    e.b.push(c);
    diffs.push(r.net - c);
  }
  if (diffs.length === 0) throw new RangeError('compareChampion: challenger and champion share no (path, date); they were not evaluated on the same paths');
  const perPath: ChampionPathRow[] = [];
  for (const [path, e] of [...byPath.entries()].sort((x, y) => x[0] - y[0])) {
    const sa = annSharpe(e.a, cal);
    const sb = annSharpe(e.b, cal);
    perPath.push({ path, n_days: e.a.length, challenger_sharpe: sa, champion_sharpe: sb, diff: sa - sb });
  }
  const dm = moments(diffs);
  const cm = median(perPath.map((p) => p.challenger_sharpe));
  const hm = median(perPath.map((p) => p.champion_sharpe));
  return {
    n_paths: perPath.length,
    n_days: diffs.length,
    per_path: perPath,
    challenger_sharpe_median: cm,
    champion_sharpe_median: hm,
    win_rate: perPath.filter((p) => p.diff > 0).length / perPath.length,
    mean_daily_diff: dm.mean,
    t_stat: dm.std > 0 ? (dm.mean / dm.std) * Math.sqrt(dm.n) : 0,
    challenger_better: cm > hm,
  };
}

function annSharpe(x: number[], cal: TradingCalendar): number {
  const m = moments(x);
  return cal.sharpe(m.mean, m.std);
}
