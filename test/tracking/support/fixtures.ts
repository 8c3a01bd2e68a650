import onnxProto from 'onnx-proto';
import { STEP_KINDS } from '../../../kinds/registry.ts';
import type { AnyStepKind } from '../../../kinds/types.ts';
import type { ArtifactRef, ArtifactStore } from '../../../artifacts/store.ts';
import { sqlString, withDuckDB } from '../../../lib/duckdb.ts';
import { PROJECT_ROOT } from '../../../lib/paths.ts';
import { loadFeatureSet } from '../../../features/config.ts';
import { contractId, type Contract } from '../../../contracts/index.ts';
import type { RunRecord, StepRecord } from '../../../tracking/observer.ts';
import { backtestKind, blendKind, gateKind, learnerKind, sizingKind } from './kinds.ts';

const { onnx } = onnxProto;

/**
 * A real ONNX linear scorer `Y = X·w + b` (Gemm, opset 13, float32, input `X` [N, F], output `Y` [N, 1]),
 * built with onnx-proto (the same encoding the fit step's exporter uses).
 */
export function linearOnnx(weights: number[], bias = 0): Uint8Array {
  const F = weights.length;
  const FLOAT = onnx.TensorProto.DataType.FLOAT;
  const tensor = (name: string, dims: number[], data: number[]) => ({ name, dims, dataType: FLOAT, rawData: new Uint8Array(new Float32Array(data).buffer) });
  const vi = (name: string, dims: (number | string)[]) => ({ name, type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } } });
  const m = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'trademl-test',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'linear',
      node: [{ opType: 'Gemm', input: ['X', 'W', 'B'], output: ['Y'] }],
      initializer: [tensor('W', [F, 1], weights), tensor('B', [1], [bias])],
      input: [vi('X', ['N', F])],
      output: [vi('Y', ['N', 1])],
    },
  });
  return onnx.ModelProto.encode(m).finish();
}

/** The equities feature registry entry (as features.equities writes it) for the checked-in config. */
export function featureRegistry(): { feature_names: string[]; features: unknown[]; normalized: boolean; zscore_clip: number; config_path: string } {
  const set = loadFeatureSet(PROJECT_ROOT, 'configs/features/equities.yml');
  return {
    feature_names: set.features.map((f) => f.name),
    features: set.features.map((f, index) => ({ index, ...f })),
    normalized: true,
    zscore_clip: set.config.zscore_clip,
    config_path: set.config_path,
  };
}

export interface RunFixture {
  run: RunRecord;
  steps: StepRecord[];
  refs: Record<string, ArtifactRef>;
  featureNames: string[];
  weights: number[];
  /** Weights of the second sleeve's linear model (bias −0.2), when `twoSleeves`. */
  tbWeights: number[];
  /** Ids of the control (approval) steps. */
  approvals: string[];
}

export interface FixtureOptions {
  runId?: string;
  gatePassed?: boolean;
  approval?: 'approved' | 'rejected' | 'pending';
  seed?: number;
  /** Two learners (h5, tb) and a blend of them. */
  twoSleeves?: boolean;
  /** Rename every kind (`uses`) of the run: the views must not care. */
  renameKinds?: (uses: string) => string;
}

const BUSINESS_DAYS = (from: string, n: number) => `SELECT CAST(DATE '${from}' + INTERVAL (i) DAY AS DATE) AS date FROM range(0, ${n}) t(i) WHERE dayofweek(DATE '${from}' + INTERVAL (i) DAY) BETWEEN 1 AND 5`;

/** OOF rows in the signals.oof columns: paths 1..7 (or 0 = walk-forward), classifier score, prob_up, −1/0/+1 labels. */
function oofSql(file: string, walkForward: boolean, scale: number): string {
  return `COPY (
    WITH d AS (${BUSINESS_DAYS('2016-01-04', 420)}),
         s AS (SELECT 'S' || lpad(CAST(j AS VARCHAR), 2, '0') AS symbol FROM range(0, 30) t(j)),
         x AS (SELECT date, symbol, (random() * 2 - 1) AS z, random() AS u FROM d, s)
    SELECT date, symbol, CAST(${walkForward ? '0' : '1 + (hash(symbol) % 7)'} AS INTEGER) AS path, CAST(1 + (hash(date) % 28) AS INTEGER) AS split, CAST(1 + (hash(date) % 8) AS INTEGER) AS test_group,
           z * ${scale} AS score,
           CAST(CASE WHEN u < 0.5 + 0.35 * z THEN 1 WHEN u > 0.85 + 0.1 * z THEN -1 ELSE 0 END AS DOUBLE) AS label,
           z * 0.01 + (u - 0.5) * 0.02 AS ret, CAST(date + INTERVAL 7 DAY AS DATE) AS t1,
           least(greatest(0.5 + 0.4 * z, 0.0), 1.0) AS prob_up
    FROM x ORDER BY path, date, symbol
  ) TO ${sqlString(file)} (FORMAT parquet)`;
}

/** Writes the fixture's Parquet tables (OOF, walk-forward, backtest returns, OHLCV) and stores them. */
async function tables(store: ArtifactStore, seed: number): Promise<Record<string, ArtifactRef>> {
  const f = { oof: store.tempPath('oof.parquet'), wf: store.tempPath('oof_wf.parquet'), ret: store.tempPath('returns.parquet'), ohlcv: store.tempPath('ohlcv.parquet'), trials: store.tempPath('trials.parquet') };
  await withDuckDB(async (con) => {
    await con.run(`SELECT setseed(${seed})`);
    await con.run(oofSql(f.oof, false, 0.8));
    await con.run(oofSql(f.wf, true, 0.8));
    await con.run(`COPY (
      WITH d AS (${BUSINESS_DAYS('2016-01-04', 700)}),
           p AS (SELECT CAST(k AS INTEGER) AS path FROM range(1, 8) t(k)),
           x AS (SELECT path, date, (random() - 0.47) * 0.02 AS gross, 0.1 + random() * 0.2 AS turnover FROM d, p)
      SELECT path, date, gross, turnover * 0.0001 AS fee, turnover * 0.0003 AS spread, turnover * 0.0002 AS impact, 0.00002 AS borrow,
             gross - turnover * 0.0006 - 0.00002 AS net, turnover, 1.0 AS gross_exposure, 0.02 AS net_exposure
      FROM x ORDER BY path, date
    ) TO ${sqlString(f.ret)} (FORMAT parquet)`);
    // Canonical OHLCV for 30 symbols × 320 business days (random walks), for scoring.
    await con.run(`COPY (
      WITH d AS (${BUSINESS_DAYS('2017-01-02', 448)}),
           s AS (SELECT 'S' || lpad(CAST(j AS VARCHAR), 2, '0') AS symbol, j FROM range(0, 30) t(j)),
           x AS (SELECT symbol, date, j, (random() - 0.5) * 0.03 AS r, random() AS v FROM d, s),
           c AS (SELECT symbol, date, (20 + j) * exp(sum(r) OVER (PARTITION BY symbol ORDER BY date)) AS close, v FROM x)
      SELECT date, symbol, close * (1 + (v - 0.5) * 0.004) AS open, close * (1 + v * 0.01) AS high, close * (1 - v * 0.01) AS low, close, 1e6 * (1 + v) AS volume
      FROM c ORDER BY symbol, date
    ) TO ${sqlString(f.ohlcv)} (FORMAT parquet)`);
    await con.run(`COPY (SELECT 'h5:t' || CAST(t AS VARCHAR) AS trial_id, date, (random() - 0.5) * 0.01 AS ret FROM range(0, 12) tt(t), (${BUSINESS_DAYS('2016-01-04', 60)}) ORDER BY trial_id, date) TO ${sqlString(f.trials)} (FORMAT parquet)`);
  });
  return {
    oof: await store.putFile(f.oof, { name: 'oof.parquet' }),
    oof_wf: await store.putFile(f.wf, { name: 'oof_walk_forward.parquet' }),
    returns: await store.putFile(f.ret, { name: 'returns.parquet' }),
    curated: await store.putFile(f.ohlcv, { name: 'curated.parquet' }),
    trial_returns: await store.putFile(f.trials, { name: 'trial_returns.parquet' }),
  };
}

/** The JSON artifacts of the fixture: models, feature registry, configs, metrics, reports. */
async function documents(store: ArtifactStore, reg: ReturnType<typeof featureRegistry>, weights: number[], tbWeights: number[], gatePassed: boolean): Promise<Record<string, ArtifactRef>> {
  return {
    model: await store.putBytes(linearOnnx(weights, 0.01), 'model.onnx'),
    model_tb: await store.putBytes(linearOnnx(tbWeights, -0.2), 'model.onnx'),
    native: await store.putJson({ learner: 'xgboost', trees: [] }, 'model_xgb.json'),
    stacker: await store.putJson({ weights: { h5: 0.7, tb: 0.3 }, intercept: 0.001, sleeves: ['h5', 'tb'], fallback: false }, 'stacker.json'),
    feature_list: await store.putJson(reg, 'feature_registry.json'),
    training_config: await store.putJson({ engine: 'xgboost', n_groups: 8, n_test_groups: 2, embargo_days: 10, max_depth: 4 }, 'training_config.json'),
    metrics: await store.putJson({ mean_rank_ic: 0.034, icir: 0.61 }, 'metrics.json'),
    ledger: await store.putJson({ sleeve: 'h5', n_trials: 12, selection: 'max_rank_ic', selected_trial: 'h5:t3', trials: [] }, 'trial_ledger.json'),
    audit_report: await store.putJson(
      {
        dataset: 'sp500_all_stocks_5yr',
        status: 'GREEN',
        summary: { rows: 619040, symbols: 505, min_coverage: 0.95 },
        dates: Array.from({ length: 60 }, (_, i) => ({ date: `2018-0${1 + Math.floor(i / 20)}-${String(1 + (i % 20)).padStart(2, '0')}`, status: i === 13 ? 'AMBER' : 'GREEN', coverage: i === 13 ? 0.95 : 0.999 })),
      },
      'audit_report.json',
    ),
    backtest_metrics: await store.putJson(
      {
        per_path: Array.from({ length: 7 }, (_, i) => ({ path: i + 1, sharpe: 0.5 + 0.1 * i, sharpe_gross: 0.9 + 0.1 * i, max_drawdown: 0.1 + 0.01 * i, turnover_annual: 40 + i })),
        walk_forward: { sharpe: 0.42 },
        aggregate: { median: { sharpe: 0.8, max_drawdown: 0.13, turnover_annual: 43 }, n_paths: 7 },
      },
      'backtest_metrics.json',
    ),
    ope_report: await store.putJson({ decision: 'accepted: learned iql policy', accepted: true, units: 'per bar, fraction of capital', n_episodes: 40 }, 'rl_ope_report.json'),
    policy_onnx: await store.putBytes(linearOnnx([1, -1], 0), 'policy.onnx'),
    ope_env: await store.putJson({ actions: [0, 0.5, 1], behaviour: 'baseline' }, 'rl_dataset_meta.json'),
    gate_report: await store.putJson({ passed: gatePassed, per_path: [] }, 'gate_report.json'),
  };
}

/** The gate's bars (pbo fails when `passed` is false). */
export function gateBarsFixture(passed: boolean) {
  const bar = (id: string, value: number, op: '>=' | '<=', threshold: number, pass: boolean, blocking = true) => ({ id, description: `${id} bar`, value, op, threshold, pass, blocking });
  return [bar('dsr', 0.97, '>=', 0.95, true), bar('psr', 0.99, '>=', 0.9, true, false), bar('pbo', passed ? 0.22 : 0.61, '<=', 0.5, passed), bar('max_drawdown', 0.11, '<=', 0.25, true)];
}

const providesOf = (kind: AnyStepKind): Record<string, string> => Object.fromEntries(Object.entries(kind.provides ?? {}).map(([k, c]: [string, Contract]) => [k, contractId(c)]));

type StepFn = (stepId: string, kind: AnyStepKind, span: [number, number], outputs: Record<string, unknown>, needs: string[], extra?: Partial<StepRecord>) => StepRecord;

/** The learner's outputs: its signal, trial ledger and model bundle in the contract shapes, plus scalars. */
function learnerOutputs(refs: Record<string, ArtifactRef>, reg: ReturnType<typeof featureRegistry>, sleeve: string, model: ArtifactRef) {
  return {
    oof: { sleeve, task: 'classification', calendar: 'nyse', n_paths: 7, components: [], oof: refs.oof, walk_forward: refs.oof_wf },
    trials: { sleeve, n_trials: 12, ledger: refs.ledger, returns: refs.trial_returns },
    model: { sleeve, task: 'classification', engine: 'xgboost', feature_names: reg.feature_names, onnx: model, native: refs.native, feature_list: refs.feature_list, training_config: refs.training_config, training_config_digest: refs.training_config!.digest, metrics: refs.metrics },
    sleeve,
    n_splits: 28,
    mean_ic: 0.031,
    mean_rank_ic: 0.034,
    icir: 0.61,
  };
}

function records(step: StepFn, refs: Record<string, ArtifactRef>, reg: ReturnType<typeof featureRegistry>, o: FixtureOptions): StepRecord[] {
  const ohlcv = (ref: ArtifactRef) => ({ ...ref, dataset: 'sp500_all_stocks_5yr', calendar: 'nyse' });
  const quality = { dataset: 'sp500_all_stocks_5yr', status: 'GREEN', red_dates: [], amber_dates: ['2018-01-14'], red_reasons: [], red_hints: [], lost_symbols: [], quarantined_files: [], report: refs.audit_report };
  const passed = o.gatePassed !== false;
  const bars = gateBarsFixture(passed);
  const verdict = { passed, bars, failing: passed ? [] : ['pbo'], table: bars.map((b) => `${b.id} ${b.value} ${b.op} ${b.threshold}`).join('\n'), report: refs.gate_report, sharpe: 0.84, max_drawdown: 0.11, psr: 0.99, dsr: 0.97, pbo: passed ? 0.22 : 0.61, n_trials: 12 };
  const signalStep = o.twoSleeves ? 'stack' : 'fit';
  return [
    step('ingest', STEP_KINDS.get('ingest.ohlcv')!, [0, 4], { table: ohlcv(refs.curated!), rows: 619040 }, [], { with: { dataset: 'sp500_all_stocks_5yr' } }),
    step('audit', STEP_KINDS.get('qc.audit')!, [4, 6], { status: 'GREEN', curated: ohlcv(refs.curated!), quality, report: refs.audit_report, dataset: 'sp500_all_stocks_5yr' }, ['ingest'], { with: { green_coverage: 0.98 } }),
    step('fit', learnerKind, [9, 41], learnerOutputs(refs, reg, 'h5', refs.model!), ['audit'], { with: { engine: 'xgboost', n_groups: 8, n_test_groups: 2, embargo_days: 10 } }),
    ...(o.twoSleeves
      ? [
          step('fit_tb', learnerKind, [9, 38], learnerOutputs(refs, reg, 'tb', refs.model_tb!), ['audit']),
          step('stack', blendKind, [41, 42], { oof: { sleeve: 'stack', task: 'regression', calendar: 'nyse', n_paths: 7, components: ['h5', 'tb'], oof: refs.oof, walk_forward: refs.oof_wf }, stacker: refs.stacker }, ['fit', 'fit_tb']),
        ]
      : []),
    step('backtest', backtestKind, [42, 47], { returns: { calendar: 'nyse', execution: 'next_open', source: { step: signalStep, sleeve: o.twoSleeves ? 'stack' : 'h5' }, returns: refs.returns, metrics: refs.backtest_metrics, sleeve_returns: null }, sharpe: 0.84 }, [signalStep]),
    step('ope', sizingKind, [47, 50], { sizing: { accepted: true, policy: 'learned', onnx: refs.policy_onnx, decision: 'accepted: learned iql policy DR lower bound 4.0 bp ≥ baseline 6.0 bp + margin', estimator: 'doubly_robust', estimate: { estimate: 0.0012, lcb: 0.0004, ucb: 0.002 }, baseline_value: 0.0006, margin: 0.0001, env: refs.ope_env, report: refs.ope_report } }, ['backtest']),
    passed
      ? step('gate', gateKind, [50, 51], { verdict, passed: true }, ['backtest', 'ope'], { with: { bars: 'configs/promotion.yml' } })
      : step('gate', gateKind, [50, 51], {}, ['backtest', 'ope'], { status: 'failed', error: { message: 'promotion gate failed (1 blocking bar(s): pbo=0.6100 needs <= 0.5000)', type: 'GateFailed', details: { bars, report: refs.gate_report, verdict } } }),
  ];
}

/**
 * A complete, realistic nightly run as the hosts report it, every step in the contract shapes of
 * contracts/: ingest (ohlcv.daily) → audit (ohlcv.daily + data.quality) → learner(s) (signals.oof,
 * trials.ledger, model.bundle; a blend signal with `twoSleeves`) → backtest (backtest.returns) →
 * sizing (sizing.policy) → gate (gate.verdict) → approval (a control step), with real artifacts in
 * `store`: ONNX models, the feature registry, OOF tables with classifier probabilities and
 * triple-barrier labels, per-path returns with cost components, an audit report. The learner,
 * blend, backtest, sizing and gate are fixture kinds no production code names (test/tracking/support/kinds.ts).
 * Randomness is seeded (DuckDB setseed), so content is stable. `gatePassed: false` makes the gate
 * fail with its bars in `error.details`.
 */
export async function nightlyRunFixture(store: ArtifactStore, opts: FixtureOptions = {}): Promise<RunFixture> {
  const runId = opts.runId ?? 'run-fixture-1';
  const reg = featureRegistry();
  const weights = reg.feature_names.map((n) => (n === 'mom_20' ? 0.6 : n === 'rvol_20' ? -0.4 : n === 'boll_20' ? -0.2 : 0.05));
  const tbWeights = reg.feature_names.map((n) => (n === 'mom_5' ? -0.5 : n === 'mom_126' ? 0.3 : 0));
  const refs = { ...(await tables(store, opts.seed ?? 0.42)), ...(await documents(store, reg, weights, tbWeights, opts.gatePassed !== false)) };
  const rename = opts.renameKinds ?? ((u: string) => u);
  const t = (s: number) => new Date(Date.parse('2024-03-01T02:00:00Z') + s * 1000).toISOString();
  const step: StepFn = (stepId, kind, [start, end], outputs, needs, extra = {}) => ({
    runId, pipeline: 'nightly', stepId, uses: rename(kind.uses), provides: providesOf(kind), status: 'succeeded', cacheHit: false, attempts: 1,
    startedAt: t(start), endedAt: t(end), durationMs: (end - start) * 1000, outputs, needs, ...extra,
  });
  const steps = records(step, refs, reg, opts);
  const approvals: string[] = [];
  if (opts.gatePassed !== false && opts.approval && opts.approval !== 'pending') {
    const approved = opts.approval === 'approved';
    approvals.push('approve');
    const outputs = approved ? { approved: true, by: 'alice', at: t(60), comment: 'IC and DSR look fine' } : {};
    steps.push(step('approve', STEP_KINDS.get('approval')!, [51, 60], outputs, ['gate'], approved ? {} : { status: 'failed', error: { message: 'rejected by bob: drawdown too deep', type: 'ApprovalRejected' } }));
  }
  const run: RunRecord = {
    runId,
    pipeline: 'nightly',
    planDigest: 'sha256:' + '7'.repeat(64),
    params: { dataset: 'sp500_all_stocks_5yr', horizon_days: 5, model: 'equities_xs' },
    status: 'running',
    startedAt: t(0),
    plan: {
      steps: [...steps.map((s) => ({ id: s.stepId, uses: s.uses, needs: s.needs ?? [], with: s.with, provides: s.provides })), { id: 'promote', uses: 'promote', needs: ['approve'], with: { model: 'equities_xs' }, provides: {} }],
    },
  };
  return { run, steps, refs, featureNames: reg.feature_names, weights, tbWeights, approvals };
}
