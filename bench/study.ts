/**
 * The equal-work study of issue 18 (run: `npx tsx bench/study.ts [--engines lightgbm,xgboost]
 * [--peer] [--dataset sp500_all_stocks_5yr] [--rounds 200]`; prints one JSON object; a child run
 * `--child <engine> --home <dir>` keeps its state in <dir> to retry a stage from).
 *
 * TradeML side: a pipeline of the real step kinds run by the embedded runtime, cache off, one step
 * at a time (concurrency 1, as the peer runs): ingest.ohlcv → qc.audit → features.equities →
 * labels.horizon (5) → labels.triple_barrier (2σ/1σ, 10 bars) → fit.cpcv (bench/study/training.yml:
 * 28 splits × 200 rounds, hist, depth 6 / 63 leaves, eta 0.05, every date, no early stopping, plus
 * the protocol's 7 walk-forward folds, the refit and ONNX export) → portfolio.build →
 * backtest.cpcv_paths (7 paths + walk-forward) → gate.governance. Each engine runs in a fresh child
 * process (its own peak RSS). Per-stage seconds are the steps' recorded durations.
 * Peer side (`--peer`, after `bash scripts/peer.sh`): bench/peer/study.py, pandas + xgboost 1.7, the
 * same stages. Runs alternate (TradeML engines, then the peer) so drift in machine load hits both;
 * the 1-minute load average is recorded before every run.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
const r3 = (x: number): number => Math.round(x * 1000) / 1000;
const load = (): number => r3(os.loadavg()[0]!);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The stages outside the model fit, as the issue counts them. */
const BUT_FIT = ['ingest', 'audit', 'features', 'labels', 'barriers', 'portfolio', 'backtest', 'gate'];

/** The study pipeline for `engine` (concurrency 1, cache off at run time). */
async function studyPlan(engine: string, dataset: string, rounds: number) {
  const { specSchema } = await import('../spec/schema.ts');
  const { compilePlan } = await import('../spec/compile.ts');
  const steps = {
    ingest: { uses: 'ingest.ohlcv', with: { dataset } },
    audit: { uses: 'qc.audit', needs: ['ingest'] },
    features: { uses: 'features.equities', needs: ['audit'] },
    labels: { uses: 'labels.horizon', needs: ['audit'], with: { horizon: 5 } },
    barriers: { uses: 'labels.triple_barrier', needs: ['audit'], with: { vol_window: 20, tp_sigma: 2, sl_sigma: 1, max_h: 10 } },
    fit: { uses: 'fit.cpcv', needs: ['features', 'labels'], with: { sleeve: 'study', config: 'bench/study/training.yml', engine, num_boost_round: rounds } },
    portfolio: { uses: 'portfolio.build', needs: ['fit', 'audit'] },
    backtest: { uses: 'backtest.cpcv_paths', needs: ['portfolio'] },
    gate: { uses: 'gate.governance', needs: ['backtest'], with: { bars: 'configs/promotion.yml' } },
  };
  const spec = specSchema.parse({ version: 1, pipelines: { study: { concurrency: { total: 1, cpu: 1, gpu: 1 }, steps } } });
  return compilePlan(spec, 'study', { concurrency: 1 });
}

/** Child: runs the study pipeline once with `engine` in a fresh state home; prints one JSON line. */
async function child(engine: string, dataset: string, rounds: number): Promise<void> {
  const { EmbeddedRuntime } = await import('../embedded/runtime.ts');
  // `--home <dir>` keeps the run's state there (to retry a stage from it); otherwise a temporary home, removed.
  const kept = arg('home', '');
  const home = kept || mkdtempSync(path.join(os.tmpdir(), `trademl-study-${engine}-`));
  try {
    const plan = await studyPlan(engine, dataset, rounds);
    const t0 = performance.now();
    const out = await new EmbeddedRuntime({ home, noCache: true }).start(plan);
    const wall = (performance.now() - t0) / 1000;
    const stages: Record<string, number> = {};
    for (const [id, s] of Object.entries(out.state.steps)) {
      stages[id] = s.startedAt !== undefined && s.endedAt !== undefined ? r3((s.endedAt - s.startedAt) / 1000) : NaN;
    }
    const fit = out.state.steps.fit?.outputs as Record<string, unknown> | undefined;
    const gate = out.state.steps.gate as { error?: { type?: string } } | undefined;
    process.stdout.write(
      JSON.stringify({
        engine, status: out.status, failed: out.failed, gate_outcome: gate?.error?.type ?? 'passed', wall_s: r3(wall), stages,
        but_fit_s: r3(BUT_FIT.reduce((a, k) => a + (stages[k] ?? 0), 0)),
        peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
        fit: fit ? { rows: fit.n_rows, splits: fit.n_splits, mean_rank_ic: fit.mean_rank_ic, mean_ic: fit.mean_ic, icir: fit.icir, walk_forward_rank_ic: fit.walk_forward_rank_ic } : null,
      }) + '\n',
    );
  } finally {
    if (!kept) rmSync(home, { recursive: true, force: true });
  }
}

/** Runs a command, returns its last stdout line parsed as JSON and its wall seconds. */
function runJson(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Record<string, unknown> {
  const t0 = performance.now();
  const out = execFileSync(cmd, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 'ignore'], env });
  const rep = JSON.parse(out.trim().split('\n').pop()!) as Record<string, unknown>;
  return { ...rep, process_wall_s: r3((performance.now() - t0) / 1000) };
}

/** Parent: alternates the TradeML runs and the peer, prints the side-by-side JSON. */
async function main(): Promise<void> {
  const engines = arg('engines', 'lightgbm,xgboost').split(',');
  const dataset = arg('dataset', 'sp500_all_stocks_5yr');
  const rounds = Number(arg('rounds', '200'));
  const withPeer = process.argv.includes('--peer');
  const self = fileURLToPath(import.meta.url);
  const result: Record<string, unknown> = { bench: 'study', dataset, rounds, cpus: os.cpus().length, node: process.version };
  const trademl: Record<string, unknown> = {};
  for (const e of engines) {
    const before = load();
    trademl[e] = { ...runJson(process.execPath, ['--import', 'tsx', self, '--child', e, '--dataset', dataset, '--rounds', String(rounds)]), load_avg_1m_before: before };
    process.stderr.write(`study ${e}: ${JSON.stringify(trademl[e])}\n`);
  }
  result.trademl = trademl;
  if (withPeer) {
    const py = path.join(ROOT, 'bench/peer/.venv/bin/python');
    if (!existsSync(py)) throw new Error('the peer is not installed: run bash scripts/peer.sh');
    const before = load();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'trademl-study-peer-'));
    const dataRoot = process.env.TRADEML_DATA_ROOT ?? path.resolve(ROOT, '..', 'shared', 'data');
    const data = path.join(dataRoot, dataset === 'sp500_all_stocks_5yr' ? 'sp500_all_stocks_5yr' : dataset);
    try {
      result.peer = { ...runJson(py, [path.join(ROOT, 'bench/peer/study.py'), data, dir], { ...process.env, PEER_ROUNDS: String(rounds), OMP_WAIT_POLICY: 'passive', GOMP_SPINCOUNT: process.env.GOMP_SPINCOUNT ?? '100000' }), load_avg_1m_before: before };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const peer = result.peer as { total_s: number; but_fit_s: number; stages: { fit: { wall_s: number } } };
    const ratios: Record<string, number> = {};
    for (const e of engines) {
      const t = trademl[e] as { wall_s: number; but_fit_s: number; stages: { fit: number } };
      ratios[`${e}_end_to_end_over_peer`] = r3(t.wall_s / peer.total_s);
      ratios[`${e}_but_fit_over_peer`] = r3(t.but_fit_s / peer.but_fit_s);
      ratios[`${e}_fit_over_peer_fit`] = r3(t.stages.fit / peer.stages.fit.wall_s);
    }
    result.ratios = ratios;
  }
  result.load_avg_1m_end = load();
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
}

if (process.argv[2] === '--child') await child(process.argv[3]!, arg('dataset', 'sp500_all_stocks_5yr'), Number(arg('rounds', '200')));
else await main();
