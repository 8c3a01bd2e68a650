/**
 * bench/engine: a 1,000-step DAG of no-op steps (10 layers × 100, each step needing two steps of
 * the previous layer). Prints JSON: pure scheduler time per step, local-runtime wall time per step
 * (scheduling + state persistence + executor + cache write), and the fully cached re-run.
 * Run: npx tsx bench/engine.ts
 */
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { applyEvent, decide, initialState } from '../engine/scheduler.ts';
import { compilePlan } from '../spec/compile.ts';
import { specSchema } from '../spec/schema.ts';
import { EmbeddedRuntime } from '../embedded/runtime.ts';

const LAYERS = 10;
const WIDTH = 100;
const steps: Record<string, unknown> = {};
for (let l = 0; l < LAYERS; l++) {
  for (let i = 0; i < WIDTH; i++) {
    steps[`s${l}_${i}`] = l === 0 ? { uses: 'noop' } : { uses: 'noop', needs: [`s${l - 1}_${i}`, `s${l - 1}_${(i + 1) % WIDTH}`] };
  }
}
const spec = specSchema.parse({ version: 1, pipelines: { bench: { concurrency: { total: 8, cpu: 8 }, steps } } });
const tCompile = performance.now();
const plan = compilePlan(spec, 'bench');
const compileMs = performance.now() - tCompile;
const n = plan.steps.length;

// 1. the pure scheduler alone (instant fake host)
let t = performance.now();
const state = initialState(plan);
for (;;) {
  const d = decide(plan, state, 0);
  if (d.finished) break;
  for (const id of d.start) applyEvent(plan, state, { type: "started", stepId: id, at: 0 });
  for (const id of d.start) applyEvent(plan, state, { type: "succeeded", stepId: id, at: 0, outputs: {} });
}
const schedulerMs = performance.now() - t;

// 2. the local runtime, cold then fully cached. Each scheduler tick commits one DuckDB transaction
// before dispatching (durability), so the per-step overhead falls as more steps share a tick.
const home = path.join(os.tmpdir(), `trademl-bench-engine-${process.pid}`);
const wide: Record<string, number> = {};
for (const c of [32]) {
  const h = `${home}-c${c}`;
  rmSync(h, { recursive: true, force: true });
  const p = compilePlan(spec, 'bench', { concurrency: c });
  p.concurrency.cpu = c;
  const t1 = performance.now();
  await new EmbeddedRuntime({ home: h }).start(p);
  wide[`concurrency_${c}_ms_per_step`] = +((performance.now() - t1) / n).toFixed(3);
  rmSync(h, { recursive: true, force: true });
}
rmSync(home, { recursive: true, force: true });
t = performance.now();
const cold = await new EmbeddedRuntime({ home }).start(plan);
const coldMs = performance.now() - t;
t = performance.now();
const warm = await new EmbeddedRuntime({ home }).start(plan);
const warmMs = performance.now() - t;
rmSync(home, { recursive: true, force: true });

const cachedSteps = Object.values(warm.state.steps).filter((s) => s.cacheHit).length;
console.log(JSON.stringify({
  bench: 'engine',
  steps: n,
  concurrency: plan.concurrency.total,
  compile_ms: +compileMs.toFixed(1),
  scheduler_only_ms_per_step: +(schedulerMs / n).toFixed(4),
  local_runtime: {
    status: cold.status,
    wall_s: +(coldMs / 1000).toFixed(3),
    overhead_ms_per_step: +(coldMs / n).toFixed(3),
    target_ms_per_step: 1,
    ...wide,
  },
  cached_rerun: { status: warm.status, wall_s: +(warmMs / 1000).toFixed(3), cached_steps: cachedSteps, ms_per_step: +(warmMs / n).toFixed(3) },
  peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  cpus: os.cpus().length,
  load_avg_1m: +os.loadavg()[0]!.toFixed(2),
}, null, 2));
