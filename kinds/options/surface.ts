/**
 * `options.surface`: raw SVI per expiry (Gatheral 2004; quasi-explicit fit, Zeliade 2009) and an SSVI
 * surface per date (Gatheral & Jacquier 2014) with butterfly (Durrleman g ≥ 0, Theorem 4.2) and
 * calendar (Theorem 4.1, w non-decreasing in t) checks, residuals in vol points and QC flags
 * (options/surface/date-surface.ts).
 */
import { z } from 'zod';
import { optionsIv, optionsSurface } from '../../contracts/options.ts';
import type { DateSurface } from '../../options/surface/date-surface.ts';
import type { ArtifactStore } from '../../artifacts/store.ts';
import { defineStepKind } from '../types.ts';
import { writeParquet } from './tables.ts';
import { yieldOrCancel } from './common.ts';

/** The three surface tables of fitted dates. */
async function writeSurfaceTables(store: ArtifactStore, surfaces: readonly DateSurface[]) {
  const sl = surfaces.flatMap((d) => d.slices.map((s) => ({ d, s })));
  const p = (k: 'a' | 'b' | 'rho' | 'm' | 'sigma') => sl.map((x) => x.s.params?.[k] ?? NaN);
  const slices = await writeParquet(store, 'svi_slices.parquet', [
    { name: 'date', type: 'DATE', values: sl.map((x) => x.d.date) },
    { name: 'expiry', type: 'DATE', values: sl.map((x) => x.s.expiry) },
    { name: 't', type: 'DOUBLE', values: sl.map((x) => x.s.t) },
    ...(['a', 'b', 'rho', 'm', 'sigma'] as const).map((k) => ({ name: k, type: 'DOUBLE' as const, values: p(k) })),
    { name: 'n_points', type: 'INTEGER', values: sl.map((x) => x.s.points.length) },
    { name: 'median_abs_residual_vol_pts', type: 'DOUBLE', values: sl.map((x) => x.s.medianAbsResidual) },
    { name: 'rmse_vol_pts', type: 'DOUBLE', values: sl.map((x) => x.s.rmseVolPts) },
    { name: 'min_g', type: 'DOUBLE', values: sl.map((x) => x.s.minG) },
    { name: 'flags', type: 'VARCHAR', values: sl.map((x) => x.s.flags.join(',')) },
  ], ['date', 'expiry']);
  const ssvi = await writeParquet(store, 'ssvi.parquet', [
    { name: 'date', type: 'DATE', values: surfaces.map((d) => d.date) },
    ...(['rho', 'eta', 'gamma'] as const).map((k) => ({ name: k, type: 'DOUBLE' as const, values: surfaces.map((d) => d.ssvi?.params[k] ?? NaN) })),
    { name: 'median_abs_residual_vol_pts', type: 'DOUBLE', values: surfaces.map((d) => d.ssvi?.medianAbsResidual ?? NaN) },
    { name: 'butterfly_free', type: 'BOOLEAN', values: surfaces.map((d) => (d.ssvi ? Number(d.ssvi.arbitrage.butterflyFree) : NaN)) },
    { name: 'calendar_free', type: 'BOOLEAN', values: surfaces.map((d) => (d.ssvi ? Number(d.ssvi.arbitrage.calendarFree) : NaN)) },
    { name: 'svi_median_abs_residual_vol_pts', type: 'DOUBLE', values: surfaces.map((d) => d.medianAbsResidual) },
    { name: 'flags', type: 'VARCHAR', values: surfaces.map((d) => d.flags.join(',')) },
  ], ['date']);
  const pts = sl.flatMap((x) => x.s.points.map((q) => ({ date: x.d.date, expiry: x.s.expiry, q })));
  const points = await writeParquet(store, 'svi_points.parquet', [
    { name: 'date', type: 'DATE', values: pts.map((x) => x.date) },
    { name: 'expiry', type: 'DATE', values: pts.map((x) => x.expiry) },
    { name: 'strike', type: 'DOUBLE', values: pts.map((x) => x.q.strike) },
    { name: 'k', type: 'DOUBLE', values: pts.map((x) => x.q.k) },
    { name: 'iv', type: 'DOUBLE', values: pts.map((x) => x.q.iv) },
    { name: 'fit', type: 'DOUBLE', values: pts.map((x) => x.q.fit) },
    { name: 'residual_vol_pts', type: 'DOUBLE', values: pts.map((x) => x.q.residualVolPts) },
    { name: 'weight', type: 'DOUBLE', values: pts.map((x) => x.q.weight) },
  ], ['date', 'expiry', 'k']);
  return { slices, ssvi, points };
}

/** Median and 90th percentile of |x| (NaN when empty). */
function absQuantiles(xs: number[]): { median: number; p90: number } {
  const s = xs.map(Math.abs).sort((a, b) => a - b);
  const at = (q: number) => (s.length ? s[Math.min(s.length - 1, Math.floor(q * (s.length - 1) + 0.5))]! : NaN);
  if (s.length === 0) return { median: NaN, p90: NaN };
  const m = s.length >> 1;
  return { median: s.length % 2 ? s[m]! : 0.5 * (s[m - 1]! + s[m]!), p90: at(0.9) };
}

const num = (d: string) => z.number().nullable().describe(d);

export const optionsSurfaceKind = defineStepKind({
  uses: 'options.surface',
  version: '1',
  description: 'Raw SVI per expiry and SSVI per date with butterfly/calendar arbitrage checks, residuals in vol points and QC flags',
  with: z.strictObject({}).describe('no settings: point selection and flags are those of options/surface/slice-fit.ts'),
  consumes: { iv: { contract: optionsIv, description: 'implied vols per contract and the parity forwards' } },
  provides: { surface: optionsSurface },
  outputs: z.object({
    surface: optionsSurface.schema,
    dates: z.number().int().describe('dates fitted'),
    slices_fitted: z.number().int().describe('slices with an SVI fit'),
    slices_total: z.number().int().describe('live slices (T > 0, forward known)'),
    median_abs_residual_vol_pts: num('median |SVI residual| over every point, vol points'),
    p90_abs_residual_vol_pts: num('90th percentile |SVI residual|, vol points'),
    ssvi_median_abs_residual_vol_pts: num('median over dates of the SSVI median |residual|, vol points'),
    flag_counts: z.record(z.string(), z.number().int()).describe('QC flag counts'),
  }),
  async run(ctx) {
    const { fitDateSurface } = await import('../../options/surface/date-surface.ts');
    const { readIvHistory } = await import('./io.ts');
    const history = await readIvHistory(ctx.artifacts, ctx.input('iv').value);
    const surfaces: DateSurface[] = [];
    for (const [i, h] of history.entries()) {
      surfaces.push(fitDateSurface(h));
      if (i % 10 === 9) {
        ctx.progress({ fraction: (0.9 * (i + 1)) / history.length, current: i + 1, total: history.length, message: `SVI/SSVI ${h.date}` });
        await yieldOrCancel(ctx.signal, 'surface fit');
      }
    }
    const t = await writeSurfaceTables(ctx.artifacts, surfaces);
    const res = absQuantiles(surfaces.flatMap((s) => s.slices.flatMap((f) => f.points.map((p) => p.residualVolPts))));
    const ssviMed = absQuantiles(surfaces.filter((s) => s.ssvi).map((s) => s.ssvi!.medianAbsResidual)).median;
    const flagCounts: Record<string, number> = {};
    for (const s of surfaces) for (const f of s.flags) flagCounts[f.replace(/^\d{4}-\d\d-\d\d:/, '')] = (flagCounts[f.replace(/^\d{4}-\d\d-\d\d:/, '')] ?? 0) + 1;
    const fitted = surfaces.reduce((n, s) => n + s.slices.filter((f) => f.params).length, 0);
    const f = (x: number) => (Number.isFinite(x) ? x : null);
    return {
      surface: { calendar: 'nse', ...t, slices_fitted: fitted, median_abs_residual_vol_pts: f(res.median), p90_abs_residual_vol_pts: f(res.p90), ssvi_median_abs_residual_vol_pts: f(ssviMed), flag_counts: flagCounts },
      dates: surfaces.length, slices_fitted: fitted, slices_total: surfaces.reduce((n, s) => n + s.slices.length, 0),
      median_abs_residual_vol_pts: f(res.median), p90_abs_residual_vol_pts: f(res.p90), ssvi_median_abs_residual_vol_pts: f(ssviMed), flag_counts: flagCounts,
    };
  },
});
