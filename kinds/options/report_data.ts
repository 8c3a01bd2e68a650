/**
 * The data of the options report, read from the contracts the report step is bound to (each
 * optional: a section whose provider failed or is absent is listed under `missing`) and from the
 * gate step's verdict among the ancestors (a failed gate carries it in its error details).
 * Plain JSON: it is also written as report.json.
 */
import type { ArtifactStore } from '../../artifacts/store.ts';
import type { ContractValue } from '../../contracts/define.ts';
import type { modelBundle } from '../../contracts/research.ts';
import type { hedgingStudy, optionsAudit, optionsBacktest, optionsFeatures, optionsRouter, optionsSurface, optionsTargets } from '../../contracts/options.ts';
import { gateVerdict } from '../../contracts/trading.ts';
import { sviW, type SviParams } from '../../options/surface/svi.ts';
import { ancestorSteps, providers } from '../../report/provided.ts';
import { gateVerdictOf } from '../../report/sections.ts';
import type { UpstreamStep } from '../types.ts';
import { nz, readParquet } from './tables.ts';

const D = (c: string) => `strftime(${c}, '%Y-%m-%d') AS ${c}`;

/** Gate section: the bars of the gate step (passed or failed). */
export async function gateSection(ancestors: Record<string, UpstreamStep>) {
  const steps = ancestorSteps(ancestors);
  return providers(steps, gateVerdict).map((s) => {
    const v = gateVerdictOf(s);
    return { step: s.stepId, status: s.status, passed: v?.verdict.passed ?? false, bars: v?.verdict.bars ?? [], failing: v?.verdict.failing ?? [], message: s.error?.message ?? null };
  });
}

/** Audit section: status counts, non-GREEN findings per rule, lots per expiry. */
export async function auditSection(store: ArtifactStore, a: ContractValue<typeof optionsAudit>) {
  const dates = await readParquet<{ status: string }>(store.path(a.dates), 'status');
  const by: Record<string, number> = {};
  for (const d of dates) by[d.status] = (by[d.status] ?? 0) + 1;
  const rep = store.readJson<{ per_date: Array<{ findings: Array<{ rule: string; level: string }> }> }>(a.report);
  const rules: Record<string, { AMBER: number; RED: number }> = {};
  for (const d of rep.per_date) for (const f of d.findings) if (f.level !== 'GREEN') (rules[f.rule] ??= { AMBER: 0, RED: 0 })[f.level as 'AMBER' | 'RED']++;
  const lots = await readParquet<{ expiry: string; lots: string }>(store.path(a.lots), `${D('expiry')}, string_agg(DISTINCT CAST(lot AS INTEGER)::VARCHAR, ', ') AS lots`, 'lot IS NOT NULL GROUP BY expiry', 'expiry');
  return { dataset: a.dataset, status: a.status, by_status: by, rules, lots };
}

/** Surface section: summary, the smile of every expiry of one date with its SVI curve, residuals over time. */
export async function surfaceSection(store: ArtifactStore, s: ContractValue<typeof optionsSurface>, smileDate?: string) {
  const slices = await readParquet<{ date: string; expiry: string; t: number; a: number | null; b: number | null; rho: number | null; m: number | null; sigma: number | null; n_points: number; median_abs_residual_vol_pts: number | null; flags: string }>(store.path(s.slices), `${D('date')}, ${D('expiry')}, * EXCLUDE (date, expiry)`, '', 'date, expiry');
  const fitted = slices.filter((x) => x.a !== null);
  const count = new Map<string, number>();
  for (const x of fitted) count.set(x.date, (count.get(x.date) ?? 0) + 1);
  const most = Math.max(0, ...count.values());
  const date = smileDate && count.has(smileDate) ? smileDate : [...count].filter(([, c]) => c === most).map(([d]) => d).sort().at(-1) ?? null;
  const pts = date ? await readParquet<{ expiry: string; k: number; strike: number; iv: number; fit: number }>(store.path(s.points), `${D('expiry')}, k, strike, iv, fit`, `date = DATE '${date}'`, 'expiry, k') : [];
  const smiles = fitted.filter((x) => x.date === date).map((x) => {
    const p: SviParams = { a: x.a!, b: x.b!, rho: x.rho!, m: x.m!, sigma: x.sigma! };
    const own = pts.filter((q) => q.expiry === x.expiry);
    const lo = Math.min(...own.map((q) => q.k)) - 0.02, hi = Math.max(...own.map((q) => q.k)) + 0.02;
    const curve: Array<[number, number]> = Array.from({ length: 61 }, (_, i) => lo + ((hi - lo) * i) / 60).map((k) => [k, 100 * Math.sqrt(Math.max(sviW(p, k), 0) / x.t)]);
    return { expiry: x.expiry, t: x.t, params: p, n_points: x.n_points, median_abs_residual_vol_pts: x.median_abs_residual_vol_pts, flags: x.flags, market: own.map((q) => [q.k, 100 * q.iv] as [number, number]), curve };
  });
  const ssvi = await readParquet<{ date: string; svi_median_abs_residual_vol_pts: number | null; median_abs_residual_vol_pts: number | null }>(store.path(s.ssvi), `${D('date')}, svi_median_abs_residual_vol_pts, median_abs_residual_vol_pts`, '', 'date');
  return {
    summary: { slices_fitted: s.slices_fitted, median_abs_residual_vol_pts: s.median_abs_residual_vol_pts, p90_abs_residual_vol_pts: s.p90_abs_residual_vol_pts, ssvi_median_abs_residual_vol_pts: s.ssvi_median_abs_residual_vol_pts },
    flag_counts: s.flag_counts, smile_date: date, smiles,
    residuals: ssvi.map((r) => ({ date: r.date, svi: nz(r.svi_median_abs_residual_vol_pts), ssvi: nz(r.median_abs_residual_vol_pts) })),
  };
}

/** Features section: definition, last value, mean, std and NaN count per feature; a few series. */
export async function featuresSection(store: ArtifactStore, f: ContractValue<typeof optionsFeatures>) {
  const rows = await readParquet<Record<string, unknown>>(store.path(f.table), `${D('date')}, * EXCLUDE (date)`, '', 'date');
  const stats = f.feature_names.map((name) => {
    const xs = rows.map((r) => nz(r[name])).filter(Number.isFinite);
    const mean = xs.reduce((a, b) => a + b, 0) / (xs.length || NaN);
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, xs.length - 1));
    return { name, definition: f.definitions[name] ?? '', last: nz(rows.at(-1)?.[name]), mean, std: sd, nan: rows.length - xs.length };
  });
  const series = (k: string) => rows.map((r) => [String(r.date), nz(r[k])] as [string, number]);
  return { dates: rows.length, first: rows[0]?.date ?? null, last: rows.at(-1)?.date ?? null, stats, series: { atm_iv: series('atm_iv'), rv20: series('rv20'), skew_25d: series('skew_25d'), pcr_oi: series('pcr_oi'), term_slope: series('term_slope') } };
}

/** Backtest section: per-path figures, equity per path, vega of path 0, the walk-forward trades. */
export async function backtestSection(store: ArtifactStore, b: ContractValue<typeof optionsBacktest>) {
  const summary = store.readJson<{ paths: Array<Record<string, number | null>>; hold_days: number }>(b.summary);
  const days = await readParquet<{ path: number; date: string; equity: number; vega: number; drawdown: number }>(store.path(b.days), `path, ${D('date')}, equity, vega, drawdown`, '', 'path, date');
  const equity = b.paths.map((p) => ({ path: p, points: days.filter((d) => d.path === p).map((d) => [d.date, d.equity] as [string, number]) }));
  const trades = await readParquet<Record<string, unknown>>(store.path(b.trades), `n, structure, ${D('decision_date')}, ${D('fill_date')}, ${D('exit_date')}, lots, entry_value, costs, hedge_pnl, pnl`, 'path = 0', 'n');
  return {
    capital: b.capital, vega_cap: b.vega_cap, costs: b.costs, hold_days: summary.hold_days, source: b.source, paths: summary.paths, equity,
    vega: days.filter((d) => d.path === 0).map((d) => [d.date, d.vega] as [string, number]), trades,
  };
}

/** Learner section: the fit's metrics JSON (CPCV layout, trials, walk-forward) from its model bundle. */
export function learnerSection(store: ArtifactStore, m: ContractValue<typeof modelBundle>) {
  return { sleeve: m.sleeve, engine: m.engine, features: m.feature_names.length, metrics: store.readJson<Record<string, unknown>>(m.metrics) };
}

/** Router, hedging and targets sections: the contract values themselves (small JSON). */
export function smallSections(r?: ContractValue<typeof optionsRouter>, h?: ContractValue<typeof hedgingStudy>, t?: ContractValue<typeof optionsTargets>) {
  return {
    router: r ? { oos_start: r.oos_start, table: r.table, events: r.events, brier: r.brier, base_rate: r.base_rate, breadth: r.breadth, chosen: r.chosen } : null,
    hedging: h ? { table: h.table, sigma_gbm: h.sigma_gbm, heston: h.heston, train_end: h.train_end, test_start: h.test_start, real_paths: h.real_paths, training: h.training } : null,
    targets: t ? { horizon_bars: t.horizon_bars, n: t.n, p_positive: t.p_positive, mean_pnl_over_premium: t.mean_pnl_over_premium } : null,
  };
}
