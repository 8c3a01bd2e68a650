/**
 * Benchmark: features.equities, labels.horizon and labels.triple_barrier on the full S&P 500 panel
 * (505 symbols, ~619k rows), run through the step kinds exactly as a host runs them.
 * Usage: npx tsx bench/features.ts [--repeat N]   (TRADEML_DUCKDB_THREADS sets DuckDB threads, default 2)
 * Prints one JSON object: wall times (ms, best and all runs), CPU time of the best run (ms, all threads),
 * per-row cost, the machine's 1-minute load average (timings on a shared machine need it), peak RSS (MiB).
 * Targets (issue 5): features ≤ 3 s, both labels ≤ 3 s on 2 cores.
 */
import { readdirSync } from 'node:fs';
import os from 'node:os';
import { featuresEquities, labelsHorizon, labelsTripleBarrier } from '../kinds/features/index.ts';
import type { AnyStepKind } from '../kinds/types.ts';
import { makeTestContext, runKind } from '../test/support/context.ts';
import { SP500_DIR, writeSp500Slice } from '../test/support/sp500.ts';

const repeatArg = process.argv.indexOf('--repeat');
const repeat = repeatArg > 0 ? Math.max(1, Number(process.argv[repeatArg + 1])) : 3;

const symbols = readdirSync(SP500_DIR())
  .filter((f) => f.endsWith('_data.csv'))
  .map((f) => f.replace(/_data\.csv$/, ''))
  .sort();
const base = makeTestContext();
const t0 = performance.now();
const tmp = base.artifacts.tempPath('ohlcv.parquet');
await writeSp500Slice(tmp, symbols);
const ref = await base.artifacts.putFile(tmp, { name: 'ohlcv.parquet' });
const prepareMs = performance.now() - t0;
const ctx = makeTestContext({ store: base.artifacts, upstream: { audit: { uses: 'qc.audit', outputs: { curated: { ...ref, dataset: 'sp500_all_stocks_5yr', calendar: 'nyse' } } } } });

/** Wall time of each run, plus the process CPU time (user + system, all threads) of the fastest run. */
async function time(kind: AnyStepKind, w: unknown): Promise<{ runs: number[]; cpu: number; out: Record<string, unknown> }> {
  const runs: number[] = [];
  let cpu = Infinity;
  let out: Record<string, unknown> = {};
  for (let i = 0; i < repeat; i++) {
    const c0 = process.cpuUsage();
    const s = performance.now();
    out = await runKind(kind, w, ctx);
    runs.push(Math.round(performance.now() - s));
    const c = process.cpuUsage(c0);
    cpu = Math.min(cpu, Math.round((c.user + c.system) / 1000));
  }
  return { runs, cpu, out };
}
const loadBefore = os.loadavg()[0]!;

const feats = await time(featuresEquities , {});
const horizon = await time(labelsHorizon , { horizon: 5, demean: true });
const tb = await time(labelsTripleBarrier , {});
const best = (r: number[]) => Math.min(...r);
const nRows = Number(feats.out.n_rows);

console.log(
  JSON.stringify(
    {
      bench: 'features',
      symbols: symbols.length,
      rows: nRows,
      duckdb_threads: Number(process.env.TRADEML_DUCKDB_THREADS ?? 2),
      cpus: os.availableParallelism(),
      repeat,
      prepare_ohlcv_ms: Math.round(prepareMs),
      features_ms: best(feats.runs),
      features_runs_ms: feats.runs,
      features_cpu_ms: feats.cpu,
      features_us_per_row: Math.round((best(feats.runs) * 1000) / nRows * 100) / 100,
      n_features: (feats.out.feature_names as string[]).length,
      labels_horizon_ms: best(horizon.runs),
      labels_horizon_runs_ms: horizon.runs,
      labels_horizon_cpu_ms: horizon.cpu,
      labels_triple_barrier_ms: best(tb.runs),
      labels_triple_barrier_cpu_ms: tb.cpu,
      labels_triple_barrier_runs_ms: tb.runs,
      labels_total_ms: best(horizon.runs) + best(tb.runs),
      triple_barrier_label_fractions: tb.out.label_fractions,
      features_bytes: (feats.out.features as { bytes: number }).bytes,
      load_avg_1m: { before: Math.round(loadBefore * 100) / 100, after: Math.round(os.loadavg()[0]! * 100) / 100 },
      peak_rss_mib: Math.round(process.resourceUsage().maxRSS / 1024),
      targets_met: { features_le_3s: best(feats.runs) <= 3000, labels_le_3s: best(horizon.runs) + best(tb.runs) <= 3000 },
    },
    null,
    0,
  ),
);
