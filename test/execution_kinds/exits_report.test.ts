/**
 * exits.optimal_stopping on the audited sp500_subset panel (cost from configs/costs.yml, charged
 * once per trade; RED data refused), and report.study: sections by contract, criteria, failed
 * steps listed, every cell HTML-escaped, the file under <home>/reports/<run-id>/.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { exitsOptimalStoppingKind, reportStudyKind } from '../../kinds/execution/index.ts';
import { costConfigSchema } from '../../execution/cost_models.ts';
import { loadConfig } from '../../lib/config.ts';
import { hasSharedData, PROJECT_ROOT } from '../../lib/paths.ts';
import { makeTestContext, runKind, type TestUpstream } from '../support/context.ts';
import { equitiesUpstream, freshStore } from './support.ts';

describe.skipIf(!hasSharedData())('exits.optimal_stopping on sp500_subset', () => {
  const store = freshStore();
  let up: Record<string, TestUpstream>;
  beforeAll(async () => {
    up = await equitiesUpstream(store);
  }, 180_000);

  it('solves the MDP on early trades and compares exits on later ones; the cost shifts every rule by itself', async () => {
    const costs = loadConfig(PROJECT_ROOT, 'configs/costs.yml', costConfigSchema);
    const a = (await runKind(exitsOptimalStoppingKind, {}, makeTestContext({ store, kind: exitsOptimalStoppingKind, upstream: up }))) as Record<string, any>;
    const e = a.exits;
    expect(e.cost_bps).toBe(2 * (costs.half_spread_bps + costs.fee_bps));
    expect(e.dataset).toBe('sp500_subset');
    expect(e.results.map((r: any) => r.rule)).toEqual(['fixed 5-day exit', 'MDP exit (≤ 10 days)', 'fixed 10-day exit']);
    expect(e.states).toHaveLength(9);
    expect(e.policy_by_days_held).toHaveLength(9);
    for (const p of e.policy_by_days_held) expect(p).toMatch(/^[HX]{9}$/);
    expect(e.results[0].mean_hold_days).toBeLessThanOrEqual(5);
    expect(e.results[2].mean_hold_days).toBeGreaterThan(e.results[0].mean_hold_days);
    expect(a.fixed_mean_net_bps).toBe(e.results[0].mean_net_bps);
    expect(e.split_date > '2016-01-01').toBe(true);
    const free = (await runKind(exitsOptimalStoppingKind, { cost_bps: 0 }, makeTestContext({ store, kind: exitsOptimalStoppingKind, upstream: up }))) as Record<string, any>;
    free.exits.results.forEach((r: any, i: number) => {
      expect(r.trades).toBe(e.results[i].trades);
      expect(r.mean_net_bps - e.results[i].mean_net_bps).toBeCloseTo(e.cost_bps, 9);
    });
    expect(exitsOptimalStoppingKind.configFiles!({ cost_bps: 0 } as never)).toEqual([]);
  }, 120_000);

  it('refuses a RED audit', async () => {
    const audit = up.audit!;
    const q = (audit.outputs as any).quality;
    const red = { ...up, audit: { ...audit, outputs: { ...audit.outputs, quality: { ...q, status: 'RED', red_dates: ['2016-05-19'], red_reasons: [{ rule: 'jump', count: 1 }] } } } };
    const err = await runKind(exitsOptimalStoppingKind, {}, makeTestContext({ store, kind: exitsOptimalStoppingKind, upstream: red })).catch((x) => x);
    expect(err.type).toBe('DataQualityError');
  }, 60_000);
});

describe('report.study', () => {
  it('renders the studies it is given by contract, escapes every cell and writes <home>/reports/<run-id>/<file>', async () => {
    const store = freshStore();
    const report = await store.putJson({ fixture: true }, 'study.json');
    const est = { value: 1, se: 0.1, lo: 0.8, hi: 1.2, method: 'block-bootstrap', n: 10 };
    const ac = { sigma_usd_per_sqrt_s: 0.08, gamma_usd_per_share2: 2e-4, eta_usd_s_per_share2: 0.01, epsilon_usd: 0.2, tau_seconds: 30, sources: { sigma: '<b>σ</b>' } };
    const row = (strategy: string, mean: number) => ({ strategy, episodes: 4, mean_bps: mean, ci_lo_bps: mean - 1, ci_hi_bps: mean + 1, std_bps: 2, forced_completions: 0 });
    const shortfall = {
      study: 'rl', symbol: 'GOOG', date: '2012-06-21', shares: 1000, horizon_seconds: 300, intervals: 10, episodes: 4, window: { from_s: 36000, to_s: 37200 },
      rows: [row('<script>alert("x")</script>', 2.5), row('TWAP', 3.5)], paired: [{ label: 'RL − TWAP & co', mean_bps: -1, ci_lo_bps: -1.5, ci_hi_bps: -0.5 }],
      criterion: { rule: 'RL mean shortfall ≤ TWAP', holds: true, rl_mean_bps: 2.5, twap_mean_bps: 3.5 }, almgren_chriss: ac, report,
    };
    const upstream: Record<string, TestUpstream> = {
      rl: { uses: 'execution.rl', outputs: { shortfall, best_strategy: 'x', twap_mean_bps: 3.5, criterion_holds: true } },
      broken: { uses: 'execution.impact', status: 'failed', outputs: {} },
    };
    const ctx = makeTestContext({ store, kind: reportStudyKind, upstream, runId: 'run-1', pipeline: 'execution' });
    const o = (await runKind(reportStudyKind, {}, ctx)) as Record<string, any>;
    expect(o.report_path).toBe(path.join(ctx.home, 'reports', 'run-1', 'study.html'));
    expect(existsSync(o.report_path)).toBe(true);
    const html = readFileSync(o.report_path, 'utf8');
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<b>');
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(html).toContain('RL − TWAP &amp; co');
    expect(html).toContain('<svg');
    expect(html).toMatch(/✔ holds: RL execution \(rl\): RL mean shortfall ≤ TWAP/);
    expect(o.sections).toEqual(['RL execution vs benchmarks (GOOG, held-out episodes)']);
    expect(o.criteria).toEqual([{ study: 'RL execution (rl)', rule: 'RL mean shortfall ≤ TWAP', holds: true, detail: 'RL 2.500 bps vs TWAP 3.500 bps' }]);
    expect(o.missing).toEqual(['step broken (execution.impact) failed']);
    expect(store.readText(o.report_html)).toBe(html);
  });
});
