/**
 * Scaling of every stage with the panel's size (issue 18). Prints one JSON object.
 *
 *   npx tsx bench/scaling.ts [--scales 1,2,4] [--with-fit]
 *
 * The S&P panel tiled K times: copy k = 0..K−1 renames every symbol (AAPL → AAPL1, …; copy 0 keeps
 * the real names) and shifts its dates k sessions later along the data's own session list, keeping
 * only the sessions every copy covers (so coverage stays whole and copies are not identical); rows ≈
 * K × 619k. The tiled CSVs are written to a temporary data root read through the
 * sp500_all_stocks_5yr contract. At each scale a fresh child process runs the stages through the
 * embedded runtime, cache off, one step at a time: ingest.ohlcv, qc.audit, features.equities,
 * labels.horizon, labels.triple_barrier, fit.linear (ridge under CPCV: the signal the later
 * stages need), portfolio.build, backtest.cpcv_paths, rl.dataset, rl.train, rl.ope, gate.governance;
 * with --with-fit also fit.cpcv (XGBoost, 20 rounds). Reported: seconds per stage and scale, rows,
 * peak RSS, and each stage's exponent b of time ∝ rows^b (least squares on the logs).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SRC = 'sp500_all_stocks_5yr/individual_stocks_5yr';
const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
const r3 = (x: number): number => Math.round(x * 1000) / 1000;

/** Writes the K-fold tiling of the S&P CSVs under `root`/SRC; returns the row count. */
function tile(dataRoot: string, root: string, K: number): number {
  const src = path.join(dataRoot, SRC);
  const files = readdirSync(src).filter((f) => f.endsWith('_data.csv')).sort();
  const tables = files.map((f) => readFileSync(path.join(src, f), 'utf8').trimEnd().split('\n'));
  const dates = [...new Set(tables.flatMap((t) => t.slice(1).map((l) => l.slice(0, 10))))].sort();
  const idx = new Map(dates.map((d, i) => [d, i]));
  // copy k maps session i → j = i + k and keeps j in [K−1, T−1]: every copy covers those sessions
  const out = path.join(root, SRC);
  mkdirSync(out, { recursive: true });
  let rows = 0;
  files.forEach((f, n) => {
    const sym = f.replace(/_data\.csv$/, '');
    for (let k = 0; k < K; k++) {
      const name = k === 0 ? sym : `${sym}${k}`;
      const lines = [tables[n]![0]!];
      for (const l of tables[n]!.slice(1)) {
        const j = idx.get(l.slice(0, 10))! + k;
        if (j < K - 1 || j > dates.length - 1) continue;
        const parts = l.split(',');
        parts[0] = dates[j]!;
        parts[parts.length - 1] = name;
        lines.push(parts.join(','));
        rows++;
      }
      writeFileSync(path.join(out, `${name}_data.csv`), lines.join('\n') + '\n');
    }
  });
  return rows;
}

/** The stage pipeline (one at a time, cache off at run time). */
async function plan(withFit: boolean) {
  const { specSchema } = await import('../spec/schema.ts');
  const { compilePlan } = await import('../spec/compile.ts');
  const steps: Record<string, unknown> = {
    ingest: { uses: 'ingest.ohlcv', with: { dataset: 'sp500_all_stocks_5yr' } },
    audit: { uses: 'qc.audit', needs: ['ingest'] },
    features: { uses: 'features.equities', needs: ['audit'] },
    labels: { uses: 'labels.horizon', needs: ['audit'], with: { horizon: 5 } },
    barriers: { uses: 'labels.triple_barrier', needs: ['audit'], with: { vol_window: 20, tp_sigma: 2, sl_sigma: 1, max_h: 10 } },
    linear: { uses: 'fit.linear', needs: ['features', 'labels'], with: { sleeve: 'ridge' } },
    portfolio: { uses: 'portfolio.build', needs: ['linear', 'audit'] },
    backtest: { uses: 'backtest.cpcv_paths', needs: ['portfolio'] },
    rl_data: { uses: 'rl.dataset', needs: ['backtest'] },
    rl_train: { uses: 'rl.train', needs: ['rl_data'] },
    ope: { uses: 'rl.ope', needs: ['rl_train'] },
    gate: { uses: 'gate.governance', needs: ['backtest', 'ope'] },
  };
  if (withFit) steps.fit = { uses: 'fit.cpcv', needs: ['features', 'labels'], with: { sleeve: 'xgb', config: 'bench/study/training.yml', num_boost_round: 20 } };
  const spec = specSchema.parse({ version: 1, pipelines: { scaling: { concurrency: { total: 1, cpu: 1, gpu: 1 }, steps } } });
  return compilePlan(spec, 'scaling', { concurrency: 1 });
}

/** Child: runs the stages on the data root in TRADEML_DATA_ROOT; prints one JSON line. */
async function child(withFit: boolean): Promise<void> {
  const { EmbeddedRuntime } = await import('../embedded/runtime.ts');
  const home = mkdtempSync(path.join(os.tmpdir(), 'trademl-scaling-'));
  try {
    const out = await new EmbeddedRuntime({ home, noCache: true }).start(await plan(withFit));
    const stages: Record<string, number> = {};
    for (const [id, s] of Object.entries(out.state.steps)) if (s.startedAt !== undefined && s.endedAt !== undefined) stages[id] = r3((s.endedAt - s.startedAt) / 1000);
    const errors = Object.fromEntries(Object.entries(out.state.steps).filter(([, s]) => s.status === 'failed').map(([id, s]) => [id, (s as { error?: { type?: string } }).error?.type ?? 'failed']));
    process.stdout.write(JSON.stringify({ status: out.status, errors, stages, peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024) }) + '\n');
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

/** Least-squares slope of log(t) on log(rows). */
function exponent(rows: number[], t: number[]): number {
  const x = rows.map(Math.log), y = t.map((v) => Math.log(Math.max(v, 1e-3)));
  const mx = x.reduce((a, b) => a + b, 0) / x.length, my = y.reduce((a, b) => a + b, 0) / y.length;
  let sxy = 0, sxx = 0;
  x.forEach((xi, i) => {
    sxy += (xi - mx) * (y[i]! - my);
    sxx += (xi - mx) ** 2;
  });
  return Math.round((sxy / sxx) * 100) / 100;
}

async function main(): Promise<void> {
  const scales = arg('scales', '1,2,4').split(',').map(Number);
  const withFit = process.argv.includes('--with-fit');
  const dataRoot = process.env.TRADEML_DATA_ROOT ?? path.resolve(ROOT, '..', 'shared', 'data');
  const self = fileURLToPath(import.meta.url);
  const runs: { scale: number; rows: number; load_avg_1m_before: number; status: string; errors: unknown; stages: Record<string, number>; peak_rss_mb: number }[] = [];
  for (const K of scales) {
    const tmp = mkdtempSync(path.join(os.tmpdir(), `trademl-tile${K}-`));
    try {
      const rows = tile(dataRoot, tmp, K);
      const before = r3(os.loadavg()[0]!);
      const args = ['--import', 'tsx', self, '--child', ...(withFit ? ['--with-fit'] : [])];
      const out = execFileSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, TRADEML_DATA_ROOT: tmp } });
      runs.push({ scale: K, rows, load_avg_1m_before: before, ...(JSON.parse(out.trim().split('\n').pop()!) as { status: string; errors: unknown; stages: Record<string, number>; peak_rss_mb: number }) });
      process.stderr.write(`scale ${K}: ${JSON.stringify(runs[runs.length - 1])}\n`);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  const stages = Object.keys(runs[0]!.stages);
  const exps: Record<string, number> = {};
  for (const s of stages) exps[s] = exponent(runs.map((r) => r.rows), runs.map((r) => r.stages[s] ?? NaN));
  const fits = new Set(['linear', 'fit', 'rl_train']);
  const worst = stages.filter((s) => !fits.has(s)).sort((a, b) => exps[b]! - exps[a]!)[0]!;
  process.stdout.write(
    JSON.stringify({ bench: 'scaling', cpus: os.cpus().length, runs, exponents: exps, worst_non_fit_stage: { stage: worst, exponent: exps[worst] }, load_avg_1m_end: r3(os.loadavg()[0]!) }, null, 2) + '\n',
  );
}

if (process.argv.includes('--child')) await child(process.argv.includes('--with-fit'));
else await main();
