import onnxProto from 'onnx-proto';
import type { ArtifactRef, ArtifactStore } from '../../../artifacts/store.ts';
import { sqlString, withDuckDB } from '../../../lib/duckdb.ts';
import { PROJECT_ROOT } from '../../../lib/paths.ts';
import { loadFeatureSet } from '../../../features/config.ts';
import type { RunRecord, StepRecord } from '../../../tracking/observer.ts';

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
}

/**
 * A complete, realistic nightly run as the runtime would report it: ingest → audit → features → fit →
 * backtest → ope → gate → approval (→ promote), with real artifacts in `store`: an ONNX model, the
 * feature registry, CPCV metrics with per-split/per-path IC, an OOF Parquet (classifier scores and
 * triple-barrier labels), per-path backtest returns with cost components, an audit report.
 * Randomness is seeded (DuckDB setseed), so content is stable.
 * `gatePassed: false` makes the gate step fail with its table in `error.details`.
 */
export async function nightlyRunFixture(store: ArtifactStore, opts: { runId?: string; gatePassed?: boolean; approval?: 'approved' | 'rejected' | 'pending'; seed?: number; twoSleeves?: boolean } = {}): Promise<RunFixture> {
  const runId = opts.runId ?? 'run-fixture-1';
  const seed = opts.seed ?? 0.42;
  const reg = featureRegistry();
  const weights = reg.feature_names.map((n) => (n === 'mom_20' ? 0.6 : n === 'rvol_20' ? -0.4 : n === 'boll_20' ? -0.2 : 0.05));
  const tbWeights = reg.feature_names.map((n) => (n === 'mom_5' ? -0.5 : n === 'dd_252' ? 0.3 : 0));
  const tmpOof = store.tempPath('oof.parquet');
  const tmpRet = store.tempPath('returns.parquet');
  const tmpOhlcv = store.tempPath('ohlcv.parquet');
  await withDuckDB(async (con) => {
    await con.run(`SELECT setseed(${seed})`);
    await con.run(`COPY (
      WITH d AS (SELECT CAST(DATE '2016-01-04' + INTERVAL (i) DAY AS DATE) AS date FROM range(0, 420) t(i) WHERE dayofweek(DATE '2016-01-04' + INTERVAL (i) DAY) BETWEEN 1 AND 5),
           s AS (SELECT 'S' || lpad(CAST(j AS VARCHAR), 2, '0') AS symbol FROM range(0, 30) t(j)),
           x AS (SELECT date, symbol, (random() * 2 - 1) AS z, random() AS u FROM d, s)
      SELECT date, symbol, 1 + (hash(symbol) % 7) AS path, 1 + (hash(date) % 28) AS split, 1 + (hash(date) % 8) AS test_group,
             z * 0.8 AS pred,
             CAST(CASE WHEN u < 0.5 + 0.35 * z THEN 1 WHEN u > 0.85 + 0.1 * z THEN -1 ELSE 0 END AS DOUBLE) AS label,
             z * 0.01 + (u - 0.5) * 0.02 AS ret
      FROM x ORDER BY date, symbol
    ) TO ${sqlString(tmpOof)} (FORMAT parquet)`);
    await con.run(`COPY (
      WITH d AS (SELECT CAST(DATE '2016-01-04' + INTERVAL (i) DAY AS DATE) AS date FROM range(0, 700) t(i) WHERE dayofweek(DATE '2016-01-04' + INTERVAL (i) DAY) BETWEEN 1 AND 5),
           p AS (SELECT CAST(k AS INTEGER) AS path FROM range(1, 8) t(k)),
           x AS (SELECT path, date, (random() - 0.47) * 0.02 AS gross, 0.1 + random() * 0.2 AS turnover FROM d, p)
      SELECT path, date, gross, turnover * 0.0001 AS fee, turnover * 0.0003 AS spread, turnover * 0.0002 AS impact, 0.00002 AS borrow,
             gross - turnover * 0.0006 - 0.00002 AS net, turnover, 1.0 AS gross_exposure, 0.02 AS net_exposure
      FROM x ORDER BY path, date
    ) TO ${sqlString(tmpRet)} (FORMAT parquet)`);
    // Canonical OHLCV for 30 symbols × 320 business days (random walks), for scoring.
    await con.run(`COPY (
      WITH d AS (SELECT CAST(DATE '2017-01-02' + INTERVAL (i) DAY AS DATE) AS date FROM range(0, 448) t(i) WHERE dayofweek(DATE '2017-01-02' + INTERVAL (i) DAY) BETWEEN 1 AND 5),
           s AS (SELECT 'S' || lpad(CAST(j AS VARCHAR), 2, '0') AS symbol, j FROM range(0, 30) t(j)),
           x AS (SELECT symbol, date, j, (random() - 0.5) * 0.03 AS r, random() AS v FROM d, s),
           c AS (SELECT symbol, date, (20 + j) * exp(sum(r) OVER (PARTITION BY symbol ORDER BY date)) AS close, v FROM x)
      SELECT date, symbol, close * (1 + (v - 0.5) * 0.004) AS open, close * (1 + v * 0.01) AS high, close * (1 - v * 0.01) AS low, close, 1e6 * (1 + v) AS volume
      FROM c ORDER BY symbol, date
    ) TO ${sqlString(tmpOhlcv)} (FORMAT parquet)`);
  });
  const refs: Record<string, ArtifactRef> = {
    oof: await store.putFile(tmpOof, { name: 'oof.parquet' }),
    returns: await store.putFile(tmpRet, { name: 'returns.parquet' }),
    curated: await store.putFile(tmpOhlcv, { name: 'curated.parquet' }),
    model: await store.putBytes(linearOnnx(weights, 0.01), 'model.onnx'),
    model_tb: await store.putBytes(linearOnnx(tbWeights, -0.2), 'model.onnx'),
    stacker: await store.putJson({ weights: { h5: 0.7, tb: 0.3 }, intercept: 0.001, sleeves: ['h5', 'tb'], fallback: false }, 'stacker.json'),
    feature_list: await store.putJson(reg, 'feature_registry.json'),
    training_config: await store.putJson({ engine: 'xgboost', n_groups: 8, n_test_groups: 2, embargo_days: 10, max_depth: 4 }, 'training_config.json'),
    metrics: await store.putJson(
      {
        mean_rank_ic: 0.034,
        icir: 0.61,
        per_split: Array.from({ length: 28 }, (_, i) => ({ split: i + 1, ic: 0.03 + 0.02 * Math.sin(i), rank_ic: 0.028 + 0.025 * Math.cos(i * 1.3) })),
        per_path: Array.from({ length: 7 }, (_, i) => ({ path: i + 1, ic: 0.02 + 0.01 * i - 0.03 * (i === 5 ? 1 : 0), rank_ic: 0.025 + 0.006 * i - 0.08 * (i === 5 ? 1 : 0) })),
      },
      'metrics.json',
    ),
    audit_report: await store.putJson(
      {
        dataset: 'sp500_all_stocks_5yr',
        status: 'GREEN',
        rows: 619040,
        symbols: 505,
        dates: Array.from({ length: 60 }, (_, i) => ({ date: `2018-0${1 + Math.floor(i / 20)}-${String(1 + (i % 20)).padStart(2, '0')}`, status: i === 13 ? 'AMBER' : 'GREEN', coverage: i === 13 ? 0.95 : 0.999 })),
      },
      'audit_report.json',
    ),
    backtest_metrics: await store.putJson({ aggregate: { sharpe: 0.84, sortino: 1.2, max_drawdown: -0.11, cvar_95: -0.021 } }, 'backtest_metrics.json'),
  };
  const t = (s: number) => new Date(Date.parse('2024-03-01T02:00:00Z') + s * 1000).toISOString();
  const step = (stepId: string, uses: string, start: number, end: number, outputs: Record<string, unknown>, needs: string[], extra: Partial<StepRecord> = {}): StepRecord => ({
    runId,
    pipeline: 'nightly',
    stepId,
    uses,
    status: 'succeeded',
    cacheHit: false,
    attempts: 1,
    startedAt: t(start),
    endedAt: t(end),
    durationMs: (end - start) * 1000,
    outputs,
    needs,
    ...extra,
  });
  const gateTable = [
    { bar: 'dsr', value: 0.97, threshold: 0.95, op: '>=', passed: true },
    { bar: 'pbo', value: opts.gatePassed === false ? 0.61 : 0.22, threshold: 0.5, op: '<=', passed: opts.gatePassed !== false },
    { bar: 'mean_rank_ic', value: 0.034, threshold: 0.01, op: '>=', passed: true },
    { bar: 'max_drawdown', value: -0.11, threshold: -0.25, op: '>=', passed: true },
  ];
  const steps: StepRecord[] = [
    step('ingest', 'ingest.ohlcv', 0, 4, { table: refs.curated, rows: 619040 }, [], { with: { dataset: 'sp500_all_stocks_5yr' } }),
    step('audit', 'qc.audit', 4, 6, { status: 'GREEN', red_dates: [], curated: refs.curated, report: refs.audit_report, dataset: 'sp500_all_stocks_5yr' }, ['ingest'], { with: { green_coverage: 0.98 } }),
    step('features', 'features.equities', 6, 9, { feature_names: reg.feature_names, registry: refs.feature_list, n_rows: 612000 }, ['audit'], { cacheHit: true }),
    step('labels', 'labels.triple_barrier', 6, 8, { kind: 'classification', n_rows: 600000 }, ['audit'], { with: { tp_sigma: 2, sl_sigma: 1, max_h: 10 } }),
    step(
      'fit',
      'fit.cpcv',
      9,
      41,
      { model: refs.model, feature_list: refs.feature_list, training_config: refs.training_config, metrics: refs.metrics, oof: refs.oof, sleeve: 'h5', task: 'classification', n_splits: 28, n_paths: 7, mean_ic: 0.031, mean_rank_ic: 0.034, icir: 0.61 },
      ['features', 'labels'],
      { with: { engine: 'xgboost', n_groups: 8, n_test_groups: 2, embargo_days: 10 } },
    ),
    ...(opts.twoSleeves
      ? [
          step('fit_tb', 'fit.cpcv', 9, 38, { model: refs.model_tb, feature_list: refs.feature_list, sleeve: 'tb', task: 'classification', mean_rank_ic: 0.02 }, ['features', 'labels']),
          step('stack', 'stack.oof', 41, 42, { stacker: refs.stacker, sleeves: ['h5', 'tb'], n_sleeves: 2, fallback: false }, ['fit', 'fit_tb']),
        ]
      : []),
    step('backtest', 'backtest.cpcv_paths', 41, 47, { returns: refs.returns, metrics: refs.backtest_metrics, sharpe: 0.84 }, ['fit']),
    step('ope', 'rl.ope', 47, 50, { accepted: true, dr: { estimate: 0.0012, lcb: 0.0004, ucb: 0.002 }, baseline_value: 0.0006 }, ['backtest']),
    opts.gatePassed === false
      ? step('gate', 'gate.governance', 50, 51, {}, ['backtest', 'ope'], { status: 'failed', error: { message: 'gate failed: pbo 0.61 > 0.5', type: 'GateFailed', details: { table: gateTable } } })
      : step('gate', 'gate.governance', 50, 51, { passed: true, table: gateTable }, ['backtest', 'ope'], { with: { bars: 'configs/promotion.yml' } }),
  ];
  if (opts.gatePassed !== false && opts.approval && opts.approval !== 'pending') {
    const approved = opts.approval === 'approved';
    steps.push(
      step('approve', 'approval', 51, 60, approved ? { approved: true, by: 'alice', at: t(60), comment: 'IC and DSR look fine' } : {}, ['gate'], approved ? {} : { status: 'failed', error: { message: 'rejected by bob: drawdown too deep', type: 'ApprovalRejected' } }),
    );
  }
  const run: RunRecord = {
    runId,
    pipeline: 'nightly',
    planDigest: 'sha256:' + '7'.repeat(64),
    params: { dataset: 'sp500_all_stocks_5yr', horizon_days: 5, model: 'equities_xs' },
    status: 'running',
    startedAt: t(0),
    plan: {
      steps: [...steps.map((s) => ({ id: s.stepId, uses: s.uses, needs: s.needs ?? [], with: s.with })), { id: 'promote', uses: 'promote', needs: ['approve'], with: { model: 'equities_xs' } }],
    },
  };
  return { run, steps, refs, featureNames: reg.feature_names, weights, tbWeights };
}
