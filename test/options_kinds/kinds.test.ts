/**
 * The options kinds on the real NIFTY chains, each through makeTestContext below the upstream steps
 * of the options_vol DAG (support.ts): chain audit, IVs, surface, features, targets, the CPCV
 * learner, the backtest and the gate. Figures are checked against what the artifacts themselves say
 * (re-pricing, round trips, PIT shifts, fills after decisions), not against stored numbers.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { dataQuality, labels, signalsOof, trialsLedger } from '../../contracts/index.ts';
import { optionsAudit, optionsBacktest, optionsFeatures, optionsIv, optionsSurface, optionsTargets } from '../../contracts/options.ts';
import { readIvHistory } from '../../kinds/options/io.ts';
import { readParquet } from '../../kinds/options/tables.ts';
import { black76Price } from '../../options/pricing/black76.ts';
import { realChain, realIndices } from '../options/real-data.ts';
import { solveDateChain } from '../../options/pricing/chain-iv.ts';
import { groupByDate } from '../../options/data/chain.ts';
import { closeOn } from '../../options/data/index-series.ts';
import type { StepOutputs } from '../../kinds/types.ts';
import { hasOptionsData, sharedStore, step } from './support.ts';

type O = Record<string, any>;
const D = (c: string) => `strftime(${c}, '%Y-%m-%d') AS ${c}`;

describe.skipIf(!hasOptionsData())('options kinds on the real NIFTY chains', () => {
  const store = () => sharedStore();
  let out: Record<string, O>;
  beforeAll(async () => {
    out = {};
    for (const id of ['chain_audit', 'iv', 'surface', 'features', 'targets', 'fit', 'backtest', 'gate']) out[id] = (await step(id)) as StepOutputs as O;
  }, 900_000);

  it('options.chain_audit: 243 dates GREEN/AMBER/RED, lot 25 on the Jan-2025 series and 75 after; a data.quality verdict', async () => {
    const a = out.chain_audit!;
    expect(optionsAudit.schema.safeParse(a.audit).success).toBe(true);
    expect(dataQuality.schema.safeParse(a.quality).success).toBe(true);
    expect(a.dates).toBe(243);
    expect(a.green + a.amber + a.red).toBe(243);
    expect(a.quality.red_dates).toHaveLength(a.red);
    expect(a.lots_by_expiry['2025-01-30']).toEqual([25]);
    for (const [e, l] of Object.entries(a.lots_by_expiry as Record<string, number[]>)) if (e > '2025-01-30') expect(l).toEqual([75]);
    const dates = await readParquet<{ status: string; reasons: string }>(store().path(a.audit.dates), 'status, reasons');
    expect(dates).toHaveLength(243);
    expect(dates.every((d) => d.status === 'GREEN' || d.reasons.length > 0)).toBe(true);
  });

  it('options.iv: every solved contract re-prices within 1e-6 INR; the table round-trips to the domain solve exactly', async () => {
    const iv = out.iv!;
    expect(optionsIv.schema.safeParse(iv.iv).success).toBe(true);
    expect(iv.contracts).toBe(119_874);
    expect(iv.max_reprice_error).toBeLessThan(1e-6);
    expect(iv.solved + Object.values(iv.reasons as Record<string, number>).reduce((s, n) => s + n, 0)).toBe(iv.contracts);
    const history = await readIvHistory(store(), iv.iv);
    expect(history).toHaveLength(243);
    let worst = 0;
    for (const h of history) for (const s of h.slices) for (const c of s.contracts) if (!c.reason) worst = Math.max(worst, Math.abs(black76Price({ type: c.type, forward: s.forward, strike: c.strike, t: s.t, vol: c.iv, df: s.df }) - c.price));
    expect(worst).toBeLessThan(1e-6);
    const rows = await realChain();
    const nifty = (await realIndices())['NIFTY 50']!;
    const byDate = groupByDate(rows);
    for (const d of [history[0]!.date, history[120]!.date, history.at(-1)!.date]) expect(history.find((h) => h.date === d)).toEqual(solveDateChain(d, byDate.get(d)!, closeOn(nifty, d)));
  });

  it('options.surface: SVI on every live slice, median |residual| well under a vol point, points consistent with the slices', async () => {
    const s = out.surface!;
    expect(optionsSurface.schema.safeParse(s.surface).success).toBe(true);
    expect(s.dates).toBe(243);
    expect(s.slices_fitted).toBeGreaterThan(0.95 * s.slices_total);
    expect(s.median_abs_residual_vol_pts).toBeGreaterThan(0);
    expect(s.median_abs_residual_vol_pts).toBeLessThan(0.5);
    const slices = await readParquet<{ date: string; expiry: string; n_points: number }>(store().path(s.surface.slices), `${D('date')}, ${D('expiry')}, n_points`);
    const pts = await readParquet<{ date: string; expiry: string; n: number }>(store().path(s.surface.points), `${D('date')}, ${D('expiry')}, count(*)::INTEGER AS n`, '1=1 GROUP BY date, expiry');
    const n = new Map(pts.map((p) => [`${p.date}|${p.expiry}`, p.n]));
    for (const x of slices) expect(n.get(`${x.date}|${x.expiry}`) ?? 0).toBe(x.n_points);
  });

  it('options.features: 16 features on 243 dates, and a one-symbol features.panel of expanding z-scores on calendar nse', async () => {
    const f = out.features!;
    expect(optionsFeatures.schema.safeParse(f.features).success).toBe(true);
    expect(f.features.feature_names).toHaveLength(16);
    expect(f.dates).toBe(243);
    expect(f.panel.calendar).toBe('nse');
    const panel = await readParquet<Record<string, unknown>>(store().path(f.panel), `${D('date')}, symbol, atm_iv`, '', 'date');
    expect(new Set(panel.map((p) => p.symbol))).toEqual(new Set(['NIFTY']));
    expect(panel.slice(0, 19).every((p) => p.atm_iv === null)).toBe(true); // warm-up: fewer than 20 observations
    const z = panel.map((p) => p.atm_iv as number | null).filter((x): x is number => x !== null);
    expect(Math.max(...z.map(Math.abs))).toBeLessThan(10);
  });

  it('options.targets: the labels panel starts at the fill — signal date t, straddle entered at the next session, t1 its exit', async () => {
    const t = out.targets!;
    expect(optionsTargets.schema.safeParse(t.targets).success).toBe(true);
    expect(labels.schema.safeParse(t.labels).success).toBe(true);
    expect(t.labels).toMatchObject({ entry: 'close', max_horizon_bars: 6, task: 'regression' });
    const tg = await readParquet<{ date: string; t1: string | null; pnl_over_premium: number | null }>(store().path(t.targets.table), `${D('date')}, ${D('t1')}, pnl_over_premium`, '', 'date');
    const lb = await readParquet<{ date: string; t1: string; label: number }>(store().path(t.labels), `${D('date')}, ${D('t1')}, label`, '', 'date');
    const dates = tg.map((x) => x.date);
    expect(lb).toHaveLength(t.label_rows);
    for (const l of lb) {
      const entry = tg[dates.indexOf(l.date) + 1]!; // the session after the signal date
      expect(l.label).toBe(entry.pnl_over_premium);
      expect(l.t1).toBe(entry.t1);
      expect(dates.indexOf(l.t1) - dates.indexOf(l.date)).toBe(6);
    }
  });

  it('options.fit: ridge under CPCV N=6, k=2 (15 splits, 5 paths), OOF and walk-forward written, ledger with every trial, ONNX parity', async () => {
    const f = out.fit!;
    expect(signalsOof.schema.safeParse(f.oof).success).toBe(true);
    expect(trialsLedger.schema.safeParse(f.trials).success).toBe(true);
    expect(f).toMatchObject({ n_splits: 15, n_paths: 5, n_groups: 6, n_test_groups: 2, embargo_bars: 6, n_trials: 4 });
    expect(f.onnx_parity_max_abs_diff).toBeLessThan(1e-4);
    const oof = await readParquet<{ path: number; n: number }>(store().path(f.oof.oof), 'path, count(*)::INTEGER AS n', '1=1 GROUP BY path', 'path');
    expect(oof.map((r) => r.path)).toEqual([1, 2, 3, 4, 5]);
    expect(oof.every((r) => r.n === f.n_rows)).toBe(true);
    const wf = await readParquet<{ test_group: number }>(store().path(f.oof.walk_forward), 'DISTINCT test_group', '', 'test_group');
    expect(wf.map((r) => r.test_group)).toEqual([2, 3, 4, 5, 6]); // group 1 has no past to train on
    const ledger = store().readJson<{ trials: Array<{ splits: Array<{ test_groups: number[]; n_train: number; n_test: number; n_purged: number; n_embargoed: number }> }> }>(f.trials.ledger);
    expect(ledger.trials).toHaveLength(4);
    for (const sp of ledger.trials[0]!.splits) {
      expect(sp.n_train + sp.n_test + sp.n_purged + sp.n_embargoed).toBe(f.n_rows);
      // a test group inside the history loses its 6 sessions on each side (labels span 6 sessions)
      const inner = sp.test_groups.filter((g) => g > 1 && g < 6).length;
      expect(sp.n_purged + sp.n_embargoed).toBeGreaterThanOrEqual(6 * sp.test_groups.length + 6 * inner - 12 * Number(sp.test_groups[1]! - sp.test_groups[0]! === 1));
    }
    const ret = await readParquet<{ n: number }>(store().path(f.trials.returns), 'count(DISTINCT trial_id)::INTEGER AS n');
    expect(ret[0]!.n).toBe(4);
  });

  it('options.backtest: fills at the session after the decision, only on scored dates, vega within the cap, costs on every trade', async () => {
    const b = out.backtest!;
    expect(optionsBacktest.schema.safeParse(b.backtest).success).toBe(true);
    expect(b.backtest.paths).toEqual([0, 1, 2, 3, 4, 5]);
    const days = await readParquet<{ path: number; date: string; vega: number }>(store().path(b.backtest.days), `path, ${D('date')}, vega`, 'path = 0', 'date');
    const sessions = days.map((d) => d.date);
    const trades = await readParquet<{ path: number; decision_date: string; fill_date: string; costs: number }>(store().path(b.backtest.trades), `path, ${D('decision_date')}, ${D('fill_date')}, costs`);
    const wf = new Set((await readParquet<{ date: string }>(store().path(out.fit!.oof.walk_forward), D('date'))).map((r) => r.date));
    for (const t of trades) {
      expect(sessions.indexOf(t.fill_date)).toBe(sessions.indexOf(t.decision_date) + 1);
      expect(t.costs).toBeGreaterThan(0);
      if (t.path === 0) expect(wf.has(t.decision_date)).toBe(true);
    }
    expect(Math.max(...days.map((d) => Math.abs(d.vega)))).toBeLessThanOrEqual(b.backtest.vega_cap);
    expect(b.costs_modelled).toBe(true);
  });

  it('options.gate: bars read the backtest; passed iff every blocking bar passes', () => {
    const g = out.gate!;
    const bar = (id: string) => g.bars.find((x: O) => x.id === id);
    expect(bar('walk_forward_pnl').value).toBeCloseTo(out.backtest!.walk_forward.pnl, 6);
    expect(bar('median_path_pnl').value).toBeCloseTo(out.backtest!.median_path_pnl, 6);
    expect(bar('costs_modelled').value).toBe(50);
    expect(g.passed).toBe(g.bars.filter((x: O) => x.blocking).every((x: O) => x.pass === true));
    expect(g.failing).toEqual(g.bars.filter((x: O) => x.blocking && x.pass === false).map((x: O) => x.id));
    expect(g.n_trials).toBe(4);
  });
});
