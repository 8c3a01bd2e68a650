import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/paths.ts';
import { compilePlan, loadSpec } from '../../spec/compile.ts';
import { createTrackingObserver } from '../../tracking/trackingObserver.ts';
import { EmbeddedRuntime } from '../../embedded/runtime.ts';
import { printRunSummary } from '../../cli/observe.ts';
import { tempDir } from '../support/context.ts';

// Integration with the lead's local runtime: a real run of the `demo` pipeline (built-in kinds, an
// auto-approved approval step) through the tracking observer.
describe('tracking observer on a real local run', () => {
  it('logs the run, the approval and writes a report with the DAG and step timings', async () => {
    const home = tempDir('trademl-rt-home-');
    const observer = await createTrackingObserver(home);
    const plan = compilePlan(loadSpec(path.join(PROJECT_ROOT, 'pipelines.yaml')), 'demo');
    const rt = new EmbeddedRuntime({ home, observer, autoApprove: 'tester' });
    const out = await rt.start(plan);
    expect(out.status).toBe('succeeded');
    const html = path.join(home, 'reports', out.runId, 'report.html');
    expect(existsSync(html)).toBe(true);
    const data = JSON.parse(readFileSync(path.join(home, 'reports', out.runId, 'report.json'), 'utf8')) as { steps: Array<{ stepId: string; durationMs?: number; status: string }>; run: { status: string } };
    expect(data.run.status).toBe('succeeded');
    expect(data.steps.map((s) => s.stepId).sort()).toEqual(plan.steps.map((s) => s.id).sort());
    expect(data.steps.find((s) => s.stepId === 'left')!.durationMs).toBeGreaterThan(0);
    expect(readFileSync(html, 'utf8')).toContain('id="chart-timings"');
    const tracker = observer.opts.tracker;
    const exp = await tracker.getOrCreateExperiment('trademl/demo');
    const [run] = await tracker.searchRuns(exp, { 'trademl.run_id': out.runId });
    const d = await tracker.getRun(run!.runId);
    expect(d.info.status).toBe('FINISHED');
    expect(d.tags).toContainEqual({ key: 'approval.approve.by', value: 'tester' });
    expect(d.params).toContainEqual({ key: 'params.greeting', value: 'hello' });
    // The report shows the approval as a control step with its decision.
    const rep = JSON.parse(readFileSync(path.join(home, 'reports', out.runId, 'report.json'), 'utf8')) as { approvals: Array<{ step: string; approved: boolean; by: string }>; steps: Array<{ stepId: string; control: boolean }> };
    expect(rep.approvals).toEqual([expect.objectContaining({ step: 'approve', approved: true, by: 'tester' })]);
    expect(rep.steps.filter((s) => s.control).map((s) => s.stepId)).toEqual(['approve']);
    await tracker.close();

    // The end-of-run summary counts the control step (approval) as neither executed nor cached.
    const chunks: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((c: string | Uint8Array) => (chunks.push(String(c)), true)) as typeof process.stdout.write;
    try {
      await printRunSummary(rt, out, 1500);
    } finally {
      process.stdout.write = write;
    }
    const text = chunks.join('');
    expect(text).toContain(`run ${out.runId}: succeeded`);
    expect(text).toContain(`  ${plan.steps.length - 1} executed, 0 cached, 0 failed, 0 skipped`);
    expect(text).toContain(`report: ${html}`);
    expect(text).not.toContain('headline figures:');
  });

  it('a fully cached re-run draws no timings chart and reads its DAG chart back instead of rendering it again', async () => {
    const home = tempDir('trademl-rt-cached-');
    const file = path.join(home, 'pipelines.yaml');
    writeFileSync(file, ['version: 1', 'pipelines:', '  consts:', '    steps:', '      a: { uses: noop, with: { outputs: { x: 1 } } }', '      b: { uses: noop, needs: [a], with: { outputs: { y: "${{ steps.a.outputs.x }}" } } }', ''].join('\n'));
    const plan = compilePlan(loadSpec(file), 'consts');
    const observer = await createTrackingObserver(home);
    const rt = new EmbeddedRuntime({ home, observer });
    const svgDir = path.join(home, 'artifacts', 'derived', 'chart-svg');
    const chart = (runId: string, id: string): string | undefined => new RegExp(`<figure class="chart" id="chart-${id}"[^]*?</figure>`).exec(readFileSync(path.join(home, 'reports', runId, 'report.html'), 'utf8'))?.[0];
    const cold = await rt.start(plan);
    expect(chart(cold.runId, 'timings')).toBeDefined();
    expect(chart(cold.runId, 'dag')).not.toContain('(cached)');
    const warm = await rt.start(plan);
    expect(Object.values(warm.state.steps).map((s) => s.cacheHit)).toEqual([true, true]);
    const svgs = readdirSync(svgDir).length;
    const again = await rt.start(plan);
    expect(readdirSync(svgDir).length).toBe(svgs); // nothing new rendered: the DAG's SVG read back
    expect(chart(again.runId, 'dag')).toBe(chart(warm.runId, 'dag'));
    expect(chart(again.runId, 'dag')).toContain('(cached)');
    expect(chart(again.runId, 'timings')).toBeUndefined();
    await observer.opts.tracker.close();
  });
});
