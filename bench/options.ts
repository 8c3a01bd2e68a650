/**
 * Benchmark and figures of the options volatility sleeve on the real NIFTY chains (243 dates,
 * 119,874 contracts) and India indices. Prints one JSON object:
 *   timing     — ingest, IV solves per second (all contracts, with greeks), SVI fits per second (every
 *                slice of every date), full-history feature time, targets, router and hedging studies;
 *                wall and CPU seconds (the machine is shared: wall times are inflated by other load);
 *   figures    — IV solve counts with NaN reasons and the worst re-pricing error, quote-quality counts
 *                (clean / settle_ne_close / untraded: smiles use clean quotes only), the chain-audit status
 *                counts, the median SVI residual in vol points, the SSVI median residual and flag counts,
 *                the straddle-target stats, the router OOS table and the deep-hedging vs BS table.
 * Run: npx tsx bench/options.ts            (add --quick to skip the router and hedging studies)
 */
import { auditChain } from '../options/audit/chain-audit.ts';
import { lotTableFromAudits } from '../options/backtest/lots.ts';
import { loadNiftyChain } from '../options/data/chain.ts';
import { loadIndiaIndices } from '../options/data/index-series.ts';
import { computeOptionsFeatures } from '../options/features/compute.ts';
import { chainSnapshot } from '../options/features/snapshot.ts';
import { hedgingStudy } from '../options/hedging/study.ts';
import { black76Price } from '../options/pricing/black76.ts';
import { median } from '../options/pricing/forward.ts';
import { solveChainHistory } from '../options/pricing/history.ts';
import { ChainIndex } from '../options/pricing/lookup.ts';
import { routerStudy } from '../options/router/router.ts';
import { fitDateSurface } from '../options/surface/date-surface.ts';
import { fitSlice } from '../options/surface/slice-fit.ts';
import { straddleTargets, straddleTargetStats } from '../options/targets/straddle.ts';

const quick = process.argv.includes('--quick');
const timing: Record<string, number> = {};
const time = async <T>(name: string, f: () => T | Promise<T>): Promise<T> => {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const v = await f();
  timing[`${name}_wall_s`] = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  timing[`${name}_cpu_s`] = (c.user + c.system) / 1e6;
  return v;
};

const rows = await time('ingest_chain', () => loadNiftyChain());
const idx = await time('ingest_indices', () => loadIndiaIndices());
const nifty = idx['NIFTY 50']!;
const history = await time('iv_solve', () => solveChainHistory(rows, nifty));
const contracts = history.reduce((s, h) => s + h.slices.reduce((u, x) => u + x.contracts.length, 0), 0);
const ivCounts: Record<string, number> = {};
const quotes: Record<string, number> = {};
let worst = 0;
for (const h of history) {
  for (const s of h.slices) {
    for (const c of s.contracts) {
      ivCounts[c.reason ?? 'solved'] = (ivCounts[c.reason ?? 'solved'] ?? 0) + 1;
      quotes[c.quote] = (quotes[c.quote] ?? 0) + 1;
      if (!c.reason) worst = Math.max(worst, Math.abs(black76Price({ type: c.type, forward: s.forward, strike: c.strike, t: s.t, vol: c.iv, df: s.df }) - c.price));
    }
  }
}
const audits = await time('audit', () => auditChain(rows));
const live = history.flatMap((h) => h.slices.filter((s) => s.t > 0 && Number.isFinite(s.forward)));
const sviOnly = await time('svi_slices', () => live.map((s) => fitSlice(s)));
const surfaces = await time('surfaces', () => history.map(fitDateSurface));
const sliceFits = surfaces.reduce((s, x) => s + x.slices.filter((f) => f.params).length, 0);
const residuals = surfaces.flatMap((s) => s.slices.flatMap((f) => f.points.map((p) => Math.abs(p.residualVolPts))));
const flagCounts: Record<string, number> = {};
for (const s of surfaces) for (const f of s.flags) flagCounts[f.replace(/^\d{4}-\d\d-\d\d:/, '')] = (flagCounts[f.replace(/^\d{4}-\d\d-\d\d:/, '')] ?? 0) + 1;
const features = await time('features_full_history', () => computeOptionsFeatures(history.map(chainSnapshot), nifty));
const index = new ChainIndex(history);
const targets = await time('targets', () => ({ h1: straddleTargetStats(straddleTargets(index, 1)), h5: straddleTargetStats(straddleTargets(index, 5)), h10: straddleTargetStats(straddleTargets(index, 10)) }));

let router: unknown = 'skipped (--quick)';
let hedging: unknown = 'skipped (--quick)';
if (!quick) {
  const featMap = new Map(features.map((f) => [f.date, f]));
  const rs = await time('router', () => routerStudy(index, lotTableFromAudits(audits), { features: featMap, nifty }));
  router = { oos_start: rs.oosStart, table: rs.table, events: rs.events.length, brier: rs.brier, base_rate: rs.baseRate, chosen: rs.chosen, breadth: rs.breadth };
  const hs = await time('hedging', () => hedgingStudy(features, nifty, idx['INDIA VIX']!, { trainEnd: '2025-03-31', testStart: '2025-04-01', deep: { iterations: 300, batch: 1024, learningRate: 0.01 } }));
  hedging = { sigma_gbm: hs.sigmaGbm, heston: hs.heston, heston_premium: hs.hestonPremium, heston_implied_vol: hs.hestonImpliedVol, real_paths: hs.realPaths, training: hs.training, table_bps: hs.table };
}

const status: Record<string, number> = {};
for (const a of audits) status[a.status] = (status[a.status] ?? 0) + 1;
console.log(JSON.stringify({
  rows: rows.length,
  dates: history.length,
  timing: {
    ...timing,
    iv_solves_per_s_wall: contracts / timing.iv_solve_wall_s!,
    iv_solves_per_s_cpu: contracts / timing.iv_solve_cpu_s!,
    svi_fits_per_s_wall: sviOnly.filter((f) => f.params).length / timing.svi_slices_wall_s!,
    svi_fits_per_s_cpu: sviOnly.filter((f) => f.params).length / timing.svi_slices_cpu_s!,
    note: 'svi_slices = raw SVI fits of every live slice; surfaces = SVI + SSVI + arbitrage checks per date',
  },
  iv: { contracts, counts: ivCounts, quotes, worst_reprice_inr: worst },
  audit: status,
  surface: {
    slices_fitted: sliceFits,
    median_abs_svi_residual_vol_pts: median(residuals),
    p90_abs_svi_residual_vol_pts: [...residuals].sort((a, b) => a - b)[Math.floor(0.9 * residuals.length)],
    median_abs_ssvi_residual_vol_pts: median(surfaces.filter((s) => s.ssvi).map((s) => s.ssvi!.medianAbsResidual)),
    flag_counts: flagCounts,
  },
  targets,
  router,
  hedging,
}, null, 2));
