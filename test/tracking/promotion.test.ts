import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { beforeAll, describe, expect, it } from 'vitest';
import { ArtifactStore } from '../../artifacts/store.ts';
import { promote, scoreDaily, report } from '../../kinds/tracking/index.ts';
import { queryRows, sqlString, withDuckDB } from '../../lib/duckdb.ts';
import { register as registerModels } from '../../cli/commands/models.ts';
import { register as registerScore } from '../../cli/commands/score.ts';
import { register as registerReport } from '../../cli/commands/report.ts';
import { LocalTracker } from '../../tracking/local.ts';
import type { StepRecord } from '../../tracking/observer.ts';
import { ModelRegistry } from '../../tracking/registry.ts';
import { TrackingObserver } from '../../tracking/trackingObserver.ts';
import { runKind, tempDir } from '../support/context.ts';
import { loadPanel } from '../../backtest/io.ts';
import { calendarFor } from '../../calendar/calendar.ts';
import { costConfigSchema, riskInputs } from '../../execution/cost_models.ts';
import { loadConfig } from '../../lib/config.ts';
import { digestJson } from '../../lib/hash.ts';
import { PROJECT_ROOT } from '../../lib/paths.ts';
import { portfolioConfigSchema } from '../../portfolio/config.ts';
import { buildWeights } from '../../portfolio/construct.ts';
import { contextAfter } from './support/context.ts';
import { nightlyRunFixture, type RunFixture } from './support/fixtures.ts';
import { policyKind } from './support/kinds.ts';

const home = tempDir('trademl-promo-home-');
process.env.TRADEML_HOME = home;
delete process.env.MLFLOW_TRACKING_URI;
const store = new ArtifactStore(path.join(home, 'artifacts'));
const tracker = new LocalTracker(path.join(home, 'tracking.duckdb'), store);
const registry = new ModelRegistry(tracker);
const observer = new TrackingObserver({ tracker, store, home });
const MODEL = 'equities_xs';

/** Drives the observer through a nightly run as the runtime would, up to (not including) promote. */
async function nightly(runId: string, opts: { gatePassed?: boolean; approval?: 'approved' | 'rejected' | 'pending' }): Promise<RunFixture> {
  const fx = await nightlyRunFixture(store, { runId, ...opts });
  await observer.runStarted(fx.run);
  for (const s of fx.steps) {
    if (fx.approvals.includes(s.stepId)) {
      await observer.runFinished({ ...fx.run, status: 'waiting_approval' }, fx.steps.filter((x) => !fx.approvals.includes(x.stepId)));
      const ok = s.status === 'succeeded';
      await observer.approvalDecided({ runId, stepId: s.stepId, approved: ok, by: ok ? 'alice' : 'bob', at: '2024-03-01T03:00:00Z', comment: ok ? 'IC and DSR look fine' : 'drawdown too deep' });
    }
    await observer.stepFinished(s);
  }
  return fx;
}

async function promoteStep(fx: RunFixture, steps: StepRecord[] = fx.steps) {
  const ctx = contextAfter(promote, steps, { store, runId: fx.run.runId, stepId: 'promote', params: fx.run.params });
  return runKind(promote, { model: MODEL }, ctx);
}

async function cli(args: string[]): Promise<string> {
  const program = new Command('trademl').option('--home <dir>').exitOverride();
  registerModels(program);
  registerScore(program);
  registerReport(program);
  const chunks: string[] = [];
  const orig = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((s: string | Uint8Array) => {
    chunks.push(String(s));
    return true;
  }) as typeof process.stdout.write;
  try {
    await program.parseAsync(['node', 'trademl', '--home', home, ...args]);
  } finally {
    process.stdout.write = orig;
  }
  return chunks.join('');
}

const aliases = async () => {
  const s = await registry.show(MODEL);
  return { champion: s.champion?.version, previous: s.previousChampion?.version, challenger: s.challenger?.version };
};

describe('champion/challenger promotion on the local tracker (acceptance)', () => {
  let run1: RunFixture;
  beforeAll(async () => {
    run1 = await nightly('nightly-1', { approval: 'approved' });
  });

  it('a nightly run whose gate passes registers a challenger; approving and promoting makes it champion', async () => {
    const v = await registry.versionForRun(MODEL, 'nightly-1');
    expect(v?.version).toBe('1');
    expect(v?.tags['trademl.approval']).toBe('approved'); // approvalDecided recorded on the candidate
    expect((await aliases()).challenger).toBe('1');
    const out = await promoteStep(run1);
    expect(out).toMatchObject({ model: MODEL, version: '1', champion: '1', previous_champion: null, changed: true, approved_by: 'alice' });
    expect(await aliases()).toEqual({ champion: '1', previous: undefined, challenger: undefined });
    // A retried promote is a no-op.
    expect((await promoteStep(run1)).changed).toBe(false);
    // The candidate carries its files and lineage.
    const files = await registry.fetchFiles(v!, path.join(tempDir(), 'm'));
    expect(readFileSync(files.onnx).equals(readFileSync(store.path(run1.refs.model!)))).toBe(true);
    const lineage = JSON.parse(readFileSync(files.lineage!, 'utf8')) as { plan_digest: string; datasets: Record<string, string>; ohlcv: string; ohlcv_calendar: string; sleeves: string[]; model_steps: string[]; gate: { step: string; passed: boolean } };
    expect(lineage.plan_digest).toBe(run1.run.planDigest);
    expect(lineage.datasets['fit.model.onnx']).toBe(run1.refs.model!.digest);
    expect(lineage.datasets['fit.oof.walk_forward']).toBe(run1.refs.oof_wf!.digest);
    expect(lineage).toMatchObject({ ohlcv: run1.refs.curated!.uri, ohlcv_calendar: 'nyse', sleeves: ['h5'], model_steps: ['fit'], gate: { step: 'gate', passed: true } });
    // The version is tagged with the candidate's signal figures and carries the MLflow model format.
    expect(v!.tags).toMatchObject({ 'trademl.metric.sleeve': 'h5', 'trademl.metric.engine': 'xgboost', 'trademl.metric.n_paths': '7' });
    expect(Number(v!.tags['trademl.metric.mean_rank_ic'])).toBeGreaterThan(0);
    const modelFiles = (await tracker.listArtifacts(v!.runId, 'model')).map((f) => f.path);
    expect(modelFiles).toEqual(expect.arrayContaining(['model/MLmodel', 'model/model.onnx', 'model/native', 'model/training_config.json']));
    expect((await tracker.listArtifacts(v!.runId, 'model/native')).map((f) => f.path)).toEqual(['model/native/model_xgb.json']);
  });

  it('logs params, metrics, lineage inputs and the report on the tracker run', async () => {
    await observer.runFinished({ ...run1.run, status: 'succeeded', endedAt: '2024-03-01T02:01:00Z' }, run1.steps);
    const exp = await tracker.getOrCreateExperiment('trademl/nightly');
    const [r] = await tracker.searchRuns(exp, { 'trademl.run_id': 'nightly-1' });
    const data = await tracker.getRun(r!.runId);
    expect(data.info.status).toBe('FINISHED');
    expect(data.params).toContainEqual({ key: 'fit.n_groups', value: '8' });
    expect(data.params).toContainEqual({ key: 'params.horizon_days', value: '5' });
    expect(data.metrics.find((m) => m.key === 'fit.mean_rank_ic')?.value).toBeCloseTo(0.034, 12);
    expect(data.tags).toContainEqual({ key: 'approval.approve.by', value: 'alice' });
    // Contract values: their scalar fields as metrics, their artifacts as lineage inputs tagged with the contract.
    expect(data.metrics.find((m) => m.key === 'gate.verdict.dsr')?.value).toBe(0.97);
    expect(data.metrics.find((m) => m.key === 'fit.oof.n_paths')?.value).toBe(7);
    const onnx = data.inputs.find((i) => i.name === 'fit.model.onnx');
    expect(onnx?.digest).toBe(run1.refs.model!.digest);
    expect(onnx?.tags?.['trademl.contract']).toBe('model.bundle@1');
    expect(data.tags).toContainEqual({ key: 'step.fit.provides.oof', value: 'signals.oof@1' });
    expect(data.inputs.find((i) => i.name === 'plan')?.digest).toBe(run1.run.planDigest);
    expect((await tracker.listArtifacts(r!.runId, 'report')).map((f) => f.path).sort()).toEqual(['report/report.html', 'report/report.json']);
    const out = await cli(['report', 'nightly-1']);
    expect(out).toContain(path.join(home, 'reports', 'nightly-1', 'report.html'));
    expect(existsSync(path.join(home, 'reports', 'nightly-1', 'report.html'))).toBe(true);
  });

  it('logs the training curves of a provided rl.policy as metric histories with their step index', async () => {
    const curves = await store.putJson({ algo: 'iql', curves: { step: [0, 50, 100], q_loss: [1.5, 0.7, 0.4], v_loss: [0.3, 0.2, Number.NaN] } }, 'rl_iql_curves.json');
    const policy = { algo: 'iql', policy: await store.putJson({ layers: [] }, 'policy.json'), onnx: run1.refs.policy_onnx, curves };
    const runId = 'curves-1';
    await observer.runStarted({ runId, pipeline: 'nightly', planDigest: 'sha256:0', params: {}, status: 'running', startedAt: '2024-03-02T02:00:00Z' });
    await observer.stepFinished({ runId, pipeline: 'nightly', stepId: 'rl_train', uses: policyKind.uses, provides: { policy: 'rl.policy@1' }, status: 'succeeded', cacheHit: false, attempts: 1, outputs: { policy, final_loss: 0.4 } });
    const exp = await tracker.getOrCreateExperiment('trademl/nightly');
    const [r] = await tracker.searchRuns(exp, { 'trademl.run_id': runId });
    const q = await tracker.getMetricHistory(r!.runId, 'rl_train.q_loss');
    expect(q.map((m) => [m.step, m.value])).toEqual([[0, 1.5], [50, 0.7], [100, 0.4]]);
    expect((await tracker.getMetricHistory(r!.runId, 'rl_train.v_loss')).map((m) => m.step)).toEqual([0, 50]);
  });

  it('a second approved run becomes champion and `models show` lists champion and previous-champion', async () => {
    const fx = await nightly('nightly-2', { approval: 'approved' });
    expect((await aliases()).challenger).toBe('2');
    expect(await promoteStep(fx)).toMatchObject({ version: '2', champion: '2', previous_champion: '1' });
    expect(await aliases()).toEqual({ champion: '2', previous: '1', challenger: undefined });
    const shown = JSON.parse(await cli(['models', 'show', MODEL, '--json'])) as { champion: { version: string }; previous_champion: { version: string } };
    expect([shown.champion.version, shown.previous_champion.version]).toEqual(['2', '1']);
    const text = await cli(['models', 'show', MODEL]);
    expect(text).toMatch(/champion:\s+v2 \(run nightly-2\)/);
    expect(text).toMatch(/previous-champion:\s+v1 \(run nightly-1\)/);
    expect(await cli(['models', 'list'])).toMatch(/equities_xs\s+v2\s+v1\s+-/);
  });

  it('a rejected approval changes no alias, and promote refuses to run', async () => {
    const fx = await nightly('nightly-3', { approval: 'rejected' });
    const v3 = await registry.versionForRun(MODEL, 'nightly-3');
    expect(v3?.tags['trademl.approval']).toBe('rejected');
    const before = await aliases();
    expect(before).toEqual({ champion: '2', previous: '1', challenger: '3' }); // challenger was set when the gate passed
    await expect(promoteStep(fx)).rejects.toMatchObject({ type: 'PromotionBlocked' });
    expect(await aliases()).toEqual(before);
  });

  it('a failed gate registers nothing and changes no alias', async () => {
    const before = await aliases();
    const n = (await tracker.listModelVersions(MODEL)).length;
    const fx = await nightly('nightly-4', { gatePassed: false });
    expect(await registry.versionForRun(MODEL, 'nightly-4')).toBeUndefined();
    expect((await tracker.listModelVersions(MODEL)).length).toBe(n);
    expect(await aliases()).toEqual(before);
    // Even with an approval (a when: always promote), a gate without a passing verdict blocks it.
    const approve: StepRecord = { ...fx.steps.at(-1)!, stepId: 'approve', uses: 'approval', provides: {}, status: 'succeeded', outputs: { approved: true, by: 'x', at: 'y', comment: '' }, needs: ['gate'] };
    delete approve.error;
    await expect(promoteStep(fx, [...fx.steps, approve])).rejects.toMatchObject({ type: 'PromotionBlocked', message: expect.stringMatching(/did not pass/) });
    // The report step (when: always) still reports the failed gate.
    const rep = await runKind(report, {}, contextAfter(report, fx.steps, { store, runId: 'nightly-4' }));
    expect((rep as { charts: string[] }).charts).toContain('equity-backtest');
    expect(store.readJson<{ gates: Array<{ passed: boolean; step: string }> }>(rep.report_json as never).gates).toEqual([expect.objectContaining({ step: 'gate', passed: false })]);
    expect(rep.report_path).toBe(path.join(home, 'reports', 'nightly-4', 'report.html'));
    expect(await cli(['report', 'nightly-4'])).toContain('(nightly, failed)');
  });

  it('an approval decided after a process restart (fresh observer) is still recorded on the candidate', async () => {
    await nightly('nightly-5', { approval: 'pending' });
    const before = await aliases();
    expect(before.challenger).toBe((await registry.versionForRun(MODEL, 'nightly-5'))!.version);
    const fresh = new TrackingObserver({ tracker, store, home });
    await fresh.approvalDecided({ runId: 'nightly-5', stepId: 'approve', approved: false, by: 'carol', at: '2024-03-02T00:00:00Z', comment: 'not now' });
    const v = await registry.versionForRun(MODEL, 'nightly-5');
    expect(v?.tags).toMatchObject({ 'trademl.approval': 'rejected', 'trademl.approved_by': 'carol', 'trademl.approval_comment': 'not now' });
    expect(await aliases()).toEqual(before);
  });

  it('`models rollback` moves champion back to previous-champion', async () => {
    expect(JSON.parse(await cli(['models', 'rollback', MODEL, '--json']))).toEqual({ name: MODEL, champion: '1', previous_champion: '2' });
    expect(await aliases()).toMatchObject({ champion: '1', previous: '2' });
  });

  it("score.daily and `trademl score` turn the champion's ONNX scores of a date into the gated backtest's book", async () => {
    const date = '2018-03-09';
    const workDir = path.join(tempDir(), 'w');
    const audit = run1.steps.filter((s) => s.stepId === 'audit');
    const ctx = contextAfter(scoreDaily, audit, { store, runId: 'score-1', params: { model: MODEL }, workDir });
    const out = (await runKind(scoreDaily, { date }, ctx)) as Record<string, unknown>;
    expect(out).toMatchObject({ model: MODEL, version: '1', date, n_universe: 30, n_scored: 30, book_start: 'flat' });
    // The fixture's gate report and backtest metrics record no trade setup: the config files are read, and the output says so.
    const cfg = loadConfig(PROJECT_ROOT, 'configs/portfolio.yml', portfolioConfigSchema);
    const costs = loadConfig(PROJECT_ROOT, 'configs/costs.yml', costConfigSchema);
    expect(out.portfolio_source).toMatch(/^configs\/portfolio\.yml and configs\/costs\.yml \(the model does not record its trade setup/);
    expect(out.config_digest).toBe(digestJson(cfg));
    expect(out.book_note).toMatch(/starts from flat/);
    // Independent check: score = features · w + b from the features the step computed for that date.
    const feats = await withDuckDB((con) => queryRows<Record<string, number | string | null>>(con, `SELECT * FROM read_parquet(${sqlString(path.join(workDir, 'score', 'features.parquet'))}) WHERE date = DATE '${date}' ORDER BY symbol`));
    const expected = feats.map((r) => ({ symbol: String(r.symbol), score: run1.featureNames.reduce((a, n, j) => a + Number(r[n] ?? NaN) * run1.weights[j]!, 0.01) }));
    const weights = await withDuckDB((con) => queryRows<{ symbol: string; score: number; weight: number }>(con, `SELECT symbol, score, weight FROM read_parquet(${sqlString(store.path(out.weights as never))}) ORDER BY symbol`));
    expect(weights).toHaveLength(30);
    for (const w of weights) expect(w.score).toBeCloseTo(expected.find((e) => e.symbol === w.symbol)!.score, 4);
    // No longer an equal-weight 6/6 quantile book: the weights are portfolio.build's (buildWeights) on a
    // path whose only scores are that date's, over the full price panel (data after the date included).
    const panel = await withDuckDB((con) => loadPanel(con, store.path(run1.refs.curated!)));
    const t = panel.dates.indexOf(date);
    const S = new Float64Array(panel.T * panel.N).fill(NaN);
    for (const w of weights) S[t * panel.N + panel.symbols.indexOf(w.symbol)] = w.score;
    const risk = riskInputs(panel, costs.impact.sigma_window, costs.impact.adv_window);
    const gated = buildWeights(S, panel, risk.ret, cfg, calendarFor('nyse'), { costs, risk });
    for (const w of weights) expect(Math.abs(w.weight - gated.weights[t * panel.N + panel.symbols.indexOf(w.symbol)]!)).toBeLessThanOrEqual(1e-12);
    expect(new Set(weights.map((w) => Math.round(Math.abs(w.weight) * 1e9))).size).toBeGreaterThan(2); // rank z-score sizes, not equal weights
    expect(out.gross as number).toBeCloseTo(weights.reduce((a, w) => a + Math.abs(w.weight), 0), 12);
    expect(out.gross as number).toBeLessThanOrEqual(cfg.gross * cfg.max_leverage + 1e-12);
    expect(store.readText(out.report_md as never)).toContain(`# Scores for ${date}`);
    expect(store.readText(out.report_md as never)).toContain('starts from flat');

    // The next trading date starts from the book held after 2018-03-09.
    const next = (await runKind(scoreDaily, { date: '2018-03-12' }, contextAfter(scoreDaily, audit, { store, runId: 'score-2', params: { model: MODEL }, workDir: path.join(tempDir(), 'w2') }))) as Record<string, unknown>;
    expect(next).toMatchObject({ date: '2018-03-12', book_start: 'held' });
    expect(next.book_note).toMatch(/held book of 2018-03-09/);

    // The CLI finds the curated OHLCV through the model's lineage and gives the same weights.
    // (No held book of 2018-03-08: it starts from flat again and gives the same book.)
    const res = JSON.parse(await cli(['score', '--model', `${MODEL}@champion`, '--date', date, '--json'])) as { version: string; n_long: number; book: { start: string }; files: { weights: string } };
    expect(res.version).toBe('1');
    expect(res.book.start).toBe('flat');
    const cliWeights = await withDuckDB((con) => queryRows<{ symbol: string; weight: number }>(con, `SELECT symbol, weight FROM read_parquet(${sqlString(res.files.weights)}) ORDER BY symbol`));
    expect(cliWeights.map((w) => [w.symbol, w.weight])).toEqual(weights.map((w) => [w.symbol, w.weight]));
    const text = await cli(['score', '--model', `${MODEL}@champion`, '--date', '2018-03-12']);
    expect(text).toMatch(/held \d+ long \/ \d+ short, gross [\d.]+%, net -?[\d.]+%/);
    expect(text).toMatch(/book: +traded from the held book of 2018-03-09/);
    expect(text).toMatch(/long: +S\d\d [\d.]+%/);
    expect(text).toMatch(/short: +S\d\d -[\d.]+%/);
    // A gap in the held book is refused (the book of 2018-03-13 is missing), unless a fresh book is asked for.
    await expect(cli(['score', '--model', `${MODEL}@champion`, '--date', '2018-03-14'])).rejects.toThrow(/last scored on 2018-03-12.*previous trading date of 2018-03-14 is 2018-03-13/);
    expect(JSON.parse(await cli(['score', '--model', `${MODEL}@champion`, '--date', '2018-03-14', '--fresh', '--json'])).book.start).toBe('flat');
    await expect(cli(['score', '--model', `${MODEL}@champion`, '--date', '2018-03-10'])).rejects.toThrow(/not a trading date/);
    await expect(cli(['score', '--model', 'nosuch@champion'])).rejects.toThrow(/no registered model named "nosuch"/);
  });
});
