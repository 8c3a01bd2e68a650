/**
 * `execution` and `market_making` of pipelines.yaml, unchanged, on the embedded runtime with the
 * tracking observer (as `trademl run` does), on the real data with reduced sizes via params. Every
 * step succeeds, the study report holds the tables the steps provide, the report kind's criteria
 * follow the study contracts, and an unchanged re-run executes nothing but the report (cache: off).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EmbeddedRuntime } from '../../embedded/runtime.ts';
import { hasSharedData, PROJECT_ROOT } from '../../lib/paths.ts';
import { compilePlan, loadSpec } from '../../spec/compile.ts';
import { createTrackingObserver } from '../../tracking/trackingObserver.ts';
import { tempDir } from '../support/context.ts';

async function run(pipeline: string, params: Record<string, string>, home = tempDir('trademl-exec-e2e-')) {
  const plan = compilePlan(loadSpec(path.join(PROJECT_ROOT, 'pipelines.yaml')), pipeline, { params });
  const out = await new EmbeddedRuntime({ home, observer: await createTrackingObserver(home) }).start(plan);
  const st = out.state.steps;
  for (const s of plan.steps) expect(st[s.id]!.status, `${s.id}: ${st[s.id]!.error?.message}`).toBe('succeeded');
  const o = (id: string) => st[id]!.outputs as Record<string, any>;
  const html = readFileSync(path.join(home, 'reports', out.runId, 'study.html'), 'utf8');
  return { plan, out, o, html, home };
}

/** The text of every <td> of the HTML, in order (entities decoded for &amp; &lt; &gt; &quot;). */
const cells = (html: string) => [...html.matchAll(/<td[^>]*>(.*?)<\/td>/g)].map((m) => m[1]!.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&'));

/** The HTML of the report section with anchor `id`. */
const sectionOf = (html: string, id: string) => html.slice(html.indexOf(`<section id="${id}">`), html.indexOf('</section>', html.indexOf(`<section id="${id}">`)));

/** A report cell (4 significant digits) shows `v`. */
const shows = (cell: string | undefined, v: number) => expect(Math.abs(Number(cell) - v)).toBeLessThanOrEqual(Math.abs(v) * 5e-4 + 1e-12);

describe.skipIf(!hasSharedData())('execution and market_making end to end (embedded)', () => {
  it('execution: every study runs, the report shows the shortfall tables and the criteria; a re-run is cached', async () => {
    const params = { rl_episodes: '30', stride_seconds: '120', synthetic_sessions: '1', bandit_every_seconds: '20' };
    const { o, html, out, plan, home } = await run('execution', params);
    expect(o('replay').check.passed).toBe(true);
    const rep = o('report');
    expect(rep.sections).toEqual(['LOB replay check (lob_lobster_samples)', 'Impact calibration (GOOG)', 'Execution schedules (GOOG)', 'RL execution vs benchmarks (GOOG, held-out episodes)', 'Order-type policy (GOOG)', 'Adaptive cost model (GOOG)', 'Optimal-stopping exits (sp500_subset)']);
    const rl = o('rl').shortfall;
    expect(rep.criteria.find((c: any) => c.study === 'RL execution (rl)')).toMatchObject({ holds: rl.criterion.holds, rule: rl.criterion.rule });
    expect(rep.criteria.find((c: any) => c.study === 'replay check (replay)').holds).toBe(true);
    expect(rep.missing).toEqual([]);
    for (const [id, table] of [['shortfall-schedules', o('schedules').shortfall.rows], ['shortfall-rl', rl.rows]] as const) {
      const td = cells(sectionOf(html, id));
      for (const r of table) {
        const at = td.indexOf(r.strategy);
        expect(at, r.strategy).toBeGreaterThanOrEqual(0);
        expect(td[at + 1]).toBe(String(r.episodes));
        shows(td[at + 2], r.mean_bps);
      }
    }
    expect(o('schedules').shortfall.rows.map((r: any) => r.strategy)).toEqual(expect.arrayContaining(['TWAP', 'VWAP', 'AC κT=6', 'TWAP passive']));
    expect(html).toContain('<svg');
    const again = await new EmbeddedRuntime({ home, observer: await createTrackingObserver(home) }).start(plan);
    // every study is replayed from the cache; the report (cache: off) writes the new run's folder
    for (const s of plan.steps) expect(again.state.steps[s.id]!.cacheHit, `${s.id} cached`).toBe(s.id !== 'report');
    expect(again.runId).not.toBe(out.runId);
    expect(readFileSync(path.join(home, 'reports', again.runId, 'study.html'), 'utf8')).toBe(html.replace(out.runId, again.runId));
  }, 600_000);

  it('market_making: A-S and RL side by side on the LOB and on BTC/ETH bars, in the report with the criteria', async () => {
    const params = { lob_rl_episodes: '6', bars_rl_episodes: '4', rl_seeds: '1', arrival_eval_episodes: '10' };
    const { o, html } = await run('market_making', params);
    const rep = o('report');
    expect(rep.sections).toEqual(['LOB replay check (lob_lobster_samples)', 'Market making on GOOG LOB: A-S vs RL', 'Market making on BTCUSDT hourly bars: A-S vs RL', 'Market making on ETHUSDT hourly bars: A-S vs RL']);
    for (const id of ['rl_lob', 'rl_btc', 'rl_eth']) {
      const s = o(id).study;
      const td = cells(sectionOf(html, `mm-${id}`));
      expect(s.rows.map((r: any) => r.policy)).toEqual([...s.summary.map(() => 'A-S'), ...s.summary.map(() => 'RL (warm-started from A-S, seed 31)')]);
      expect(rep.criteria.find((c: any) => c.study === `market making ${s.venue} (${id})`)).toMatchObject({ holds: s.criterion.holds, detail: s.criterion.detail });
      for (const sum of s.summary) {
        const at = td.indexOf(sum.evaluation);
        expect(at, sum.evaluation).toBeGreaterThanOrEqual(0);
        shows(td[at + 1], sum.as_sharpe);
      }
    }
    expect(o('as_btc').calibration.rows[0].evaluation).toBe('bars (held-out 2020–2021)');
    expect(o('rl_lob').study.summary).toHaveLength(2);
  }, 600_000);
});
