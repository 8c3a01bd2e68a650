import { existsSync } from 'node:fs';
import path from 'node:path';
import { headlineFigures } from '../report/headline.ts';
import type { RunObserver } from '../tracking/observer.ts';
import type { EmbeddedRuntime, RunOutcome } from '../embedded/runtime.ts';
import { runHeadline, tradeHeadline } from './headline.ts';
import { describeStep } from './render.ts';

/**
 * The run observer the CLI attaches to the local runtime: experiment tracking (local DuckDB
 * tracker, or MLflow when MLFLOW_TRACKING_URI is set), challenger registration and run reports.
 */
export async function observerFor(home: string): Promise<RunObserver> {
  const { createTrackingObserver } = await import('../tracking/trackingObserver.ts');
  return createTrackingObserver(home);
}

/**
 * Prints the end-of-run summary: the headline (cli/headline.ts: the run's outcome and wall time, a
 * gate's rejection as "completed — not promoted", the backtest's fill timings and realised vol vs
 * target), every step's final line, the headline figures of what the steps provide
 * (report/headline.ts: signals, backtests, sizing, gate verdicts), and where the report is.
 * Control steps (approvals) count neither as executed nor as cached.
 */
export async function printRunSummary(rt: EmbeddedRuntime, out: RunOutcome, wallMs: number): Promise<void> {
  const plan = out.plan;
  const width = Math.max(8, ...plan.steps.map((s) => s.id.length));
  const views = plan.steps.map((s) => {
    const st = out.state.steps[s.id]!;
    return { stepId: s.id, uses: s.uses, status: st.status, outputs: st.outputs ?? {}, provides: s.provides, needs: s.needs, control: s.control, error: st.error };
  });
  const lines: string[] = ['', runHeadline(out.runId, out.status, wallMs, views), ...tradeHeadline(views)];
  const states = plan.steps.map((s) => out.state.steps[s.id]!);
  const work = plan.steps.filter((s) => !s.control).map((s) => out.state.steps[s.id]!);
  const ran = work.filter((s) => s.status === 'succeeded' || s.status === 'failed');
  const cached = ran.filter((s) => s.cacheHit).length;
  const executed = ran.length - cached;
  const fully = executed === 0 && cached > 0;
  lines.push(`  ${executed} executed, ${cached} cached${fully ? ' — fully cached: nothing changed since the last run' : ''}, ${states.filter((s) => s.status === 'failed').length} failed${states.some((s) => s.status === 'failed' && s.cacheHit) ? ' (replayed from cache: same inputs, same verdict)' : ''}, ${states.filter((s) => s.status === 'skipped').length} skipped`);
  for (const s of plan.steps) lines.push('  ' + describeStep(s.id, out.state.steps[s.id]!, width));
  const figures = await headlineFigures(views, rt.artifacts);
  if (figures.length) {
    lines.push('', 'headline figures:');
    const w = Math.max(...figures.map(([k]) => k.length));
    for (const [k, v] of figures) lines.push(`  ${k.padEnd(w)}  ${v}`);
  }
  const report = path.join(rt.opts.home, 'reports', out.runId, 'report.html');
  if (existsSync(report)) lines.push('', `report: ${report}`);
  if (out.status === 'failed') lines.push('', `retry the failed step(s) with: trademl retry ${out.runId}`);
  if (out.status === 'interrupted') lines.push('', `continue with: trademl resume ${out.runId}`);
  if (out.status === 'waiting_approval') lines.push('', `waiting for approval: trademl status ${out.runId}`);
  process.stdout.write(lines.join('\n') + '\n');
}
