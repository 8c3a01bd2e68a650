/**
 * The nightly's wall time, memory and cached re-run (issue 18). Prints one JSON object.
 *
 *   npx tsx bench/nightly.ts [--home DIR] [--dataset sp500_all_stocks_5yr] [--skip-cold] [--reruns 3]
 *
 * 1. cold (unless --skip-cold): `nightly` from pipelines.yaml through the embedded runtime (auto-
 *    approved, cache on) in DIR (default: a fresh temporary home). RSS is sampled every 50 ms and
 *    attributed to the steps running at the time: peak RSS per step and the process peak, so the
 *    step where memory peaks is named (fits run in this process; DuckDB is in-process too).
 * 2. cached re-run, in process: the same plan again in the same home (every step a cache hit),
 *    split into plan compilation and the runtime's own time.
 * 3. cached re-run, whole process, `--reruns` times: a fresh Node process that loads pipelines.yaml,
 *    compiles and runs the plan (what `trademl run nightly` does minus the CLI's command loading), and
 *    the CLI itself (`node bin/trademl.mjs run nightly --auto-approve --json`); min and median.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
const r3 = (x: number): number => Math.round(x * 1000) / 1000;
const mb = (b: number): number => Math.round(b / 2 ** 20);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Compiles `nightly` from pipelines.yaml with the dataset param. */
async function nightlyPlan(dataset: string) {
  const { loadSpec, compilePlan } = await import('../spec/compile.ts');
  const spec = loadSpec(path.join(ROOT, 'pipelines.yaml'));
  return compilePlan(spec, 'nightly', { params: { dataset } });
}

/** One run of the nightly in `home`; with `sample`, RSS per running step. */
async function runOnce(home: string, dataset: string, sample: boolean) {
  const { EmbeddedRuntime } = await import('../embedded/runtime.ts');
  const t0 = performance.now();
  const plan = await nightlyPlan(dataset);
  const compileS = (performance.now() - t0) / 1000;
  const running = new Set<string>();
  const peakBy: Record<string, number> = {};
  let peak = 0;
  const tick = (): void => {
    const rss = process.memoryUsage.rss();
    peak = Math.max(peak, rss);
    for (const s of running) peakBy[s] = Math.max(peakBy[s] ?? 0, rss);
  };
  const timer = sample ? setInterval(tick, 50) : undefined;
  const onEvent = (e: { type: string; stepId?: string }): void => {
    if (e.type === 'step_started') running.add(e.stepId!);
    if (e.type === 'step_finished') {
      tick();
      running.delete(e.stepId!);
    }
  };
  const t1 = performance.now();
  const out = await new EmbeddedRuntime({ home, autoApprove: 'bench', onEvent }).start(plan);
  const runS = (performance.now() - t1) / 1000;
  clearInterval(timer);
  const steps: Record<string, { s: number; cache_hit: boolean; status: string; peak_rss_mb?: number }> = {};
  for (const [id, st] of Object.entries(out.state.steps)) {
    const s = st.startedAt !== undefined && st.endedAt !== undefined ? r3((st.endedAt - st.startedAt) / 1000) : 0;
    steps[id] = { s, cache_hit: st.cacheHit === true, status: st.status, ...(peakBy[id] ? { peak_rss_mb: mb(peakBy[id]!) } : {}) };
  }
  return { status: out.status, compile_s: r3(compileS), run_s: r3(runS), steps, peak_rss_sampled_mb: mb(peak), max_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024) };
}

/** Wall seconds of a fresh process running `args`. */
function processWall(cmd: string, args: string[], env: NodeJS.ProcessEnv): { wall_s: number; status: number | null } {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  return { wall_s: r3((performance.now() - t0) / 1000), status: r.status };
}

async function main(): Promise<void> {
  const dataset = arg('dataset', 'sp500_all_stocks_5yr');
  const home = arg('home', '') || mkdtempSync(path.join(os.tmpdir(), 'trademl-bench-nightly-'));
  const reruns = Number(arg('reruns', '3'));
  const result: Record<string, unknown> = { bench: 'nightly', dataset, home, cpus: os.cpus().length, load_avg_1m_start: r3(os.loadavg()[0]!) };
  if (!process.argv.includes('--skip-cold')) {
    result.cold = await runOnce(home, dataset, true);
    process.stderr.write(`cold: ${JSON.stringify(result.cold)}\n`);
  }
  const warm = await runOnce(home, dataset, false);
  result.cached_in_process = { status: warm.status, compile_s: warm.compile_s, run_s: warm.run_s, cached_steps: Object.values(warm.steps).filter((s) => s.cache_hit).length, steps: Object.keys(warm.steps).length };
  const self = fileURLToPath(import.meta.url);
  const env = { ...process.env, TRADEML_HOME: home };
  const plain = Array.from({ length: reruns }, () => processWall(process.execPath, ['--import', 'tsx', self, '--child-rerun', '--home', home, '--dataset', dataset], env));
  const cli = Array.from({ length: reruns }, () => processWall(process.execPath, [path.join(ROOT, 'bin/trademl.mjs'), 'run', 'nightly', '--auto-approve', '--json', '-p', `dataset=${dataset}`], env));
  const summary = (xs: { wall_s: number; status: number | null }[]) => ({ min_s: Math.min(...xs.map((x) => x.wall_s)), median_s: median(xs.map((x) => x.wall_s)), exit_codes: xs.map((x) => x.status) });
  result.cached_process = { runtime_only: summary(plain), cli: summary(cli) };
  result.load_avg_1m_end = r3(os.loadavg()[0]!);
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
}

if (process.argv.includes('--child-rerun')) {
  const { EmbeddedRuntime } = await import('../embedded/runtime.ts');
  const out = await new EmbeddedRuntime({ home: arg('home', ''), autoApprove: 'bench' }).start(await nightlyPlan(arg('dataset', 'sp500_all_stocks_5yr')));
  process.exitCode = out.status === 'succeeded' ? 0 : 1;
} else await main();
