/**
 * The nightly's first sleeve alone (run: `npx tsx bench/nightly_fit.ts`; prints one JSON line):
 * ingest.ohlcv → qc.audit → features.equities → labels.horizon (5) → fit.cpcv with
 * configs/training/equities_xs.yml (XGBoost, 4 trials × 28 splits, 7 walk-forward folds, refit,
 * ONNX export) on the full S&P panel, embedded, cache off, one step at a time. Prints each stage's
 * seconds (the steps' recorded durations), the fit's mean OOF rank IC and the process's peak RSS.
 * Pair two trees with farm-bench, or alternate runs, to compare a change of the fit.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
const { specSchema } = await import('../spec/schema.ts');
const { compilePlan } = await import('../spec/compile.ts');
const { EmbeddedRuntime } = await import('../embedded/runtime.ts');
const steps = {
  ingest: { uses: 'ingest.ohlcv', with: { dataset: 'sp500_all_stocks_5yr' } },
  audit: { uses: 'qc.audit', needs: ['ingest'] },
  features: { uses: 'features.equities', needs: ['audit'] },
  labels: { uses: 'labels.horizon', needs: ['audit'], with: { horizon: 5 } },
  fit: { uses: 'fit.cpcv', needs: ['features', 'labels'], with: { sleeve: 'xs_horizon', config: 'configs/training/equities_xs.yml' } },
};
const spec = specSchema.parse({ version: 1, pipelines: { fb: { concurrency: { total: 1, cpu: 1, gpu: 1 }, steps } } });
const plan = compilePlan(spec, 'fb', { concurrency: 1 });
const home = mkdtempSync(path.join(os.tmpdir(), 'trademl-nightly-fit-'));
try {
  const out = await new EmbeddedRuntime({ home, noCache: true }).start(plan);
  const st: Record<string, number> = {};
  for (const [id, s] of Object.entries(out.state.steps)) st[id] = Math.round((s.endedAt! - s.startedAt!)) / 1000;
  const fit = out.state.steps.fit?.outputs as Record<string, unknown>;
  console.log(JSON.stringify({ status: out.status, stages: st, mean_rank_ic: fit?.mean_rank_ic, rss_mb: Math.round(process.resourceUsage().maxRSS / 1024) }));
} finally {
  rmSync(home, { recursive: true, force: true });
}
