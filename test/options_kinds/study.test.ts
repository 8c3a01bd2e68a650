/**
 * The router, deep-hedging and report kinds on the real data (support.ts DAG), the gate on planted
 * backtests (it passes a profitable, capped book and fails a loss or a vega breach), and the report's
 * escaping and missing-section handling.
 */
import { describe, expect, it } from 'vitest';
import { gateVerdict } from '../../contracts/index.ts';
import { hedgingStudy, optionsRouter } from '../../contracts/options.ts';
import { writeParquet } from '../../kinds/options/tables.ts';
import type { ArtifactStore } from '../../artifacts/store.ts';
import { makeTestContext, runKind } from '../support/context.ts';
import { contextBelow, freshStore, hasOptionsData, kind, sharedStore, step, upstreamOf } from './support.ts';

type O = Record<string, any>;

/** A planted options.backtest value: two paths with the given P&L and max |vega|, one trade each. */
async function plantedBacktest(store: ArtifactStore, pnl: [number, number], vega: number, costs = 100) {
  const dates = ['2025-01-02', '2025-01-03', '2025-01-06', '2025-01-07'];
  const days = [0, 1].flatMap((p) => dates.map((d, i) => ({ p, d, pnl: i === 0 ? 0 : pnl[p]! / 3, vega: i === 2 ? vega : 0 })));
  const ref = {
    days: await writeParquet(store, 'days.parquet', [
      { name: 'path', type: 'INTEGER', values: days.map((x) => x.p) }, { name: 'date', type: 'DATE', values: days.map((x) => x.d) },
      { name: 'pnl', type: 'DOUBLE', values: days.map((x) => x.pnl) }, { name: 'vega', type: 'DOUBLE', values: days.map((x) => x.vega) },
    ], ['path', 'date']),
    trades: await writeParquet(store, 'trades.parquet', [{ name: 'path', type: 'INTEGER', values: [0, 1] }, { name: 'n', type: 'INTEGER', values: [1, 1] }, { name: 'costs', type: 'DOUBLE', values: [costs, costs] }], ['path', 'n']),
    summary: await store.putJson({ paths: [0, 1].map((p) => ({ path: p, pnl: pnl[p], trades: 12, max_abs_vega: vega, costs, sharpe: 1, max_drawdown: -0.01 })) }, 'summary.json'),
  };
  return { calendar: 'nse', source: { step: 'fit', sleeve: 'x' }, ...ref, capital: 1e7, vega_cap: 20_000, costs: { option_bps: 50, hedge_bps: 1 }, paths: [0, 1] };
}

describe('options.gate on planted backtests', () => {
  const run = async (bt: unknown) => {
    const store = freshStore();
    const value = await (bt as (s: ArtifactStore) => Promise<unknown>)(store);
    const k = kind('options.gate');
    return (await runKind(k, {}, makeTestContext({ kind: k, store, upstream: { backtest: { uses: 'options.backtest', outputs: { backtest: value } } } }))) as O;
  };
  it('passes a profitable book within the vega cap with costs charged', async () => {
    const v = await run((s: ArtifactStore) => plantedBacktest(s, [5e4, 3e4], 15_000));
    expect(gateVerdict.schema.safeParse(v.verdict).success).toBe(true);
    expect(v.passed).toBe(true);
    expect(v.failing).toEqual([]);
  });
  it('fails a walk-forward loss, a vega breach and a book that paid no costs — each by its bar', async () => {
    expect((await run((s: ArtifactStore) => plantedBacktest(s, [-1, 3e4], 15_000))).failing).toEqual(['walk_forward_pnl']);
    expect((await run((s: ArtifactStore) => plantedBacktest(s, [5e4, 3e4], 25_000))).failing).toEqual(['vega_within_cap']);
    expect((await run((s: ArtifactStore) => plantedBacktest(s, [5e4, 3e4], 15_000, 0))).failing).toEqual(['costs_modelled']);
  });
});

describe.skipIf(!hasOptionsData())('options.router, options.hedging and options.report on the real data', () => {
  it('router: the four strategies, the priority baseline and the router out of sample; breadth coverage reported', async () => {
    const r = (await step('router')) as O;
    expect(optionsRouter.schema.safeParse(r.router).success).toBe(true);
    expect(r.router.table.map((x: O) => x.name)).toEqual(['gamma_scalping', 'oi_buildup', 'vol_expansion', 'expiry_pin', 'priority_no_meta', 'router']);
    expect(r.router.oos_start > '2024-11-01').toBe(true);
    // the S&P panel ends 2018-02-07: no breadth on any options date, and the run says so
    expect(r.router.breadth.with_breadth).toBe(0);
    expect(r.breadth_coverage).toMatch(/^0 of \d+ OOS dates .*has no date within/);
    expect(r.router.table.find((x: O) => x.name === 'router').pnl).toBe(r.router_pnl);
  });

  it('router without a breadth panel runs with the filter off (an unbound optional input)', async () => {
    const { kind: k, ctx } = await contextBelow('options.router', ['features'], { bind: { index: '${{ steps.indices_qc.outputs.curated }}' } });
    const r = (await runKind(k, {}, ctx)) as O;
    expect(r.breadth_coverage).toMatch(/no breadth panel bound/);
    expect(r.router.table).toEqual(((await step('router')) as O).router.table); // breadth never applied either way
  });

  it('hedging: BS delta, two deep hedgers and no hedge on real and simulated paths; calibration before the test window', async () => {
    const h = (await step('hedging')) as O;
    expect(hedgingStudy.schema.safeParse(h.study).success).toBe(true);
    expect(h.study.table).toHaveLength(12);
    expect(h.study.heston.to <= h.study.train_end).toBe(true);
    const real = (x: string) => h.study.table.find((r: O) => r.paths === 'real' && r.hedger === x);
    expect(real('bs_delta').variance_bps2).toBeLessThan(real('unhedged').variance_bps2);
    expect(h.study.real_paths).toBe(real('bs_delta').n);
  });

  it('report: every section, the router and hedging tables, gate bars, smiles as inline SVG; cells escaped', async () => {
    const { kind: k, ctx } = await contextBelow('options.report', ['gate', 'surface', 'router', 'hedging']);
    const o = (await runKind(k, { title: 'opt <script>alert(1)</script> & co' }, { ...ctx, home: freshStore().root })) as O;
    expect(o.sections).toEqual(['gate', 'audit', 'surface', 'features', 'learner', 'backtest', 'router', 'hedging']);
    expect(o.missing).toEqual([]);
    expect([o.router_rows, o.hedging_rows]).toEqual([6, 12]);
    const html = ctx.artifacts.path(o.report_html);
    const text = (await import('node:fs')).readFileSync(html, 'utf8');
    expect(text).not.toContain('<script>');
    expect(text).toContain('opt &lt;script&gt;alert(1)&lt;/script&gt; &amp; co');
    expect(text.match(/<table class="router">[\s\S]*?<\/table>/)![0].match(/<tr>/g)).toHaveLength(7); // header + 6 rows
    expect(text.match(/<table class="hedging">[\s\S]*?<\/table>/)![0].match(/<tr>/g)).toHaveLength(13);
    expect(text.match(/<table class="gate">[\s\S]*?<\/table>/)![0]).toContain('walk_forward_pnl');
    expect(text).toMatch(/<svg[^>]*aria-label="Smile per expiry on \d{4}-\d\d-\d\d with the raw SVI fit"/);
    expect(text).not.toMatch(/<(script|link|img)\b/);
  });

  it('report of a run whose upstream failed: the sections it has, the rest listed as missing', async () => {
    const up = await upstreamOf(['surface']);
    up.gate = { uses: 'options.gate', outputs: {}, status: 'failed', needs: [] };
    const k = kind('options.report');
    const ctx = makeTestContext({ kind: k, upstream: up, store: sharedStore() });
    const o = (await runKind(k, {}, { ...ctx, home: freshStore().root })) as O;
    expect(o.sections).toContain('surface');
    expect(o.sections).not.toContain('backtest');
    expect(o.missing.some((m: string) => m.startsWith('backtest:'))).toBe(true);
  });
});
