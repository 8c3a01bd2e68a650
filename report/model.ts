import { existsSync, readFileSync } from 'node:fs';
import type { ArtifactRef, ArtifactStore } from '../artifacts/store.ts';
import { queryRows, sqlString, withDuckDB } from '../lib/duckdb.ts';

/** One step as the report sees it (from the runtime's StepRecord, or from a step's ancestors). */
export interface ReportStep {
  stepId: string;
  uses: string;
  status: string;
  startedAt?: string;
  endedAt?: string;
  durationMs?: number;
  cacheHit?: boolean;
  attempts?: number;
  /** Upstream step ids; when unknown the DAG is drawn in run order without edges. */
  needs?: string[];
  outputs: Record<string, unknown>;
  error?: { message: string; type: string; details?: unknown };
}

export interface ReportInput {
  runId: string;
  pipeline: string;
  status: string;
  planDigest?: string;
  params?: Record<string, unknown>;
  startedAt?: string;
  endedAt?: string;
  steps: ReportStep[];
  /** Extra lineage (code version, git commit, tracker run, model version). */
  lineage?: Record<string, unknown>;
}

export interface IcPoint { id: number; ic?: number; rank_ic?: number }
export interface EquityPoint { path: number; date: string; equity: number; drawdown: number }
export interface PathSummary { path: number; days: number; total_return: number; max_drawdown: number; sharpe: number | null; gross: number; fee: number; spread: number; impact: number; borrow: number; net: number; turnover: number }
export interface CalibrationBin { bin: number; mean_pred: number; mean_outcome: number; count: number }
export interface GateRow { bar: string; value: unknown; threshold: unknown; op: string; passed: boolean }

/** Everything report.json holds (and report.html draws). Sections absent upstream are listed in `missing`. */
export interface ReportData {
  schema: 'trademl.report/v1';
  run: { run_id: string; pipeline: string; status: string; plan_digest?: string; params?: Record<string, unknown>; started_at?: string; ended_at?: string; duration_ms?: number };
  steps: Array<Omit<ReportStep, 'outputs' | 'error'> & { layer: number; row: number; offset_ms?: number; error?: string; error_type?: string }>;
  edges: Array<{ from: string; to: string }>;
  audit?: { step: string; status?: string; red_dates: string[]; summary: Record<string, unknown>; by_status: Record<string, number> };
  ic?: { step: string; sleeve?: string; splits: IcPoint[]; paths: IcPoint[]; mean_ic?: number; mean_rank_ic?: number; icir?: number };
  backtest?: { step: string; paths: PathSummary[]; aggregate: Record<string, unknown>; equity_points: number };
  gate?: { step: string; status: string; passed: boolean; table: GateRow[]; message?: string };
  calibration?: { step: string; task: string; bins: CalibrationBin[]; brier?: number; note: string };
  ope?: { step: string; accepted?: boolean; estimate?: number; lcb?: number; ucb?: number; baseline_value?: number };
  approval?: { step: string; status: string; approved?: boolean; by?: string; at?: string; comment?: string; message?: string };
  promotion?: { step: string; status: string; outputs: Record<string, unknown> };
  lineage: { plan_digest?: string; datasets: Array<{ step: string; uses: string; output: string; name: string; digest: string; uri: string }>; extra: Record<string, unknown> };
  missing: string[];
}

/** Series the charts need but report.json does not carry in full. */
export interface ReportSeries {
  equity: EquityPoint[];
}


/** True for an ArtifactRef-shaped value (`uri` artifact://…, `digest`). */
export function isRef(v: unknown): v is ArtifactRef {
  return !!v && typeof v === 'object' && typeof (v as ArtifactRef).uri === 'string' && (v as ArtifactRef).uri.startsWith('artifact://') && typeof (v as ArtifactRef).digest === 'string';
}

/** A JSON output that is either inline or an artifact reference; undefined when absent or unreadable. */
export function jsonOf(store: ArtifactStore, v: unknown): unknown {
  if (v === undefined || v === null) return undefined;
  if (isRef(v)) {
    if (!store.has(v)) return undefined;
    try {
      return store.readJson(v);
    } catch {
      return undefined;
    }
  }
  if (typeof v === 'string' && v.endsWith('.json') && existsSync(v)) return JSON.parse(readFileSync(v, 'utf8'));
  return v;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : undefined);

/** Finds arrays of objects (anywhere in `value`, depth ≤ 4) whose items all have one of `idKeys` and one of `valueKeys`. */
function findTables(value: unknown, idKeys: string[], valueKeys: string[], depth = 0, out: Array<{ key: string; rows: Record<string, unknown>[] }> = [], key = ''): Array<{ key: string; rows: Record<string, unknown>[] }> {
  if (depth > 4 || value === null || typeof value !== 'object') return out;
  if (Array.isArray(value)) {
    if (value.length && value.every((x) => x && typeof x === 'object' && idKeys.some((k) => k in x) && valueKeys.some((k) => k in x))) out.push({ key, rows: value as Record<string, unknown>[] });
    return out;
  }
  for (const [k, v] of Object.entries(value)) findTables(v, idKeys, valueKeys, depth + 1, out, k);
  return out;
}

function icPoints(rows: Record<string, unknown>[], idKey: string): IcPoint[] {
  return rows
    .map((r) => ({ id: num(r[idKey]) ?? NaN, ic: num(r.ic ?? r.IC ?? r.pearson_ic), rank_ic: num(r.rank_ic ?? r.rankIC ?? r.spearman_ic) }))
    .filter((p) => Number.isFinite(p.id) && (p.ic !== undefined || p.rank_ic !== undefined))
    .sort((a, b) => a.id - b.id);
}

/** DAG layout: layer = longest path from a root; row = order within the layer. */
function layout(steps: ReportStep[]): { layers: Map<string, { layer: number; row: number }>; edges: Array<{ from: string; to: string }> } {
  const ids = new Set(steps.map((s) => s.stepId));
  const edges: Array<{ from: string; to: string }> = [];
  for (const s of steps) for (const n of s.needs ?? []) if (ids.has(n)) edges.push({ from: n, to: s.stepId });
  const depth = new Map<string, number>();
  const byId = new Map(steps.map((s) => [s.stepId, s]));
  const visiting = new Set<string>();
  const d = (id: string): number => {
    if (depth.has(id)) return depth.get(id)!;
    if (visiting.has(id)) return 0;
    visiting.add(id);
    const needs = (byId.get(id)?.needs ?? []).filter((n) => ids.has(n));
    const v = needs.length ? Math.max(...needs.map(d)) + 1 : 0;
    visiting.delete(id);
    depth.set(id, v);
    return v;
  };
  const anyNeeds = steps.some((s) => s.needs !== undefined);
  const layers = new Map<string, { layer: number; row: number }>();
  const rowCount = new Map<number, number>();
  steps.forEach((s, i) => {
    const layer = anyNeeds ? d(s.stepId) : i;
    const row = rowCount.get(layer) ?? 0;
    rowCount.set(layer, row + 1);
    layers.set(s.stepId, { layer, row });
  });
  return { layers, edges };
}

/**
 * Builds the report data of a run from its steps' outputs (reading artifacts from `store`).
 * Tolerant: a section whose upstream step or artifact is missing is left out and named in `missing`.
 */
export async function buildReportData(input: ReportInput, store: ArtifactStore): Promise<{ data: ReportData; series: ReportSeries }> {
  const missing: string[] = [];
  const byKind = (uses: string) => input.steps.filter((s) => s.uses === uses);
  const t0 = input.startedAt ? Date.parse(input.startedAt) : Math.min(...input.steps.map((s) => (s.startedAt ? Date.parse(s.startedAt) : Infinity)));
  const { layers, edges } = layout(input.steps);
  const steps: ReportData['steps'] = input.steps.map((s) => {
    const { outputs: _o, error, ...rest } = s;
    const start = s.startedAt ? Date.parse(s.startedAt) : undefined;
    const end = s.endedAt ? Date.parse(s.endedAt) : undefined;
    return {
      ...rest,
      durationMs: s.durationMs ?? (start !== undefined && end !== undefined ? end - start : undefined),
      offset_ms: start !== undefined && Number.isFinite(t0) ? start - t0 : undefined,
      ...layers.get(s.stepId)!,
      error: error?.message,
      error_type: error?.type,
    };
  });
  const ended = input.endedAt ? Date.parse(input.endedAt) : undefined;
  const data: ReportData = {
    schema: 'trademl.report/v1',
    run: {
      run_id: input.runId,
      pipeline: input.pipeline,
      status: input.status,
      plan_digest: input.planDigest,
      params: input.params,
      started_at: input.startedAt,
      ended_at: input.endedAt,
      duration_ms: ended !== undefined && Number.isFinite(t0) ? ended - t0 : undefined,
    },
    steps,
    edges,
    lineage: { plan_digest: input.planDigest, datasets: [], extra: { ...(input.lineage ?? {}) } },
    missing,
  };
  const series: ReportSeries = { equity: [] };

  // ---- data audit ----
  const audit = byKind('qc.audit').find((s) => s.status === 'succeeded') ?? byKind('qc.audit')[0];
  if (audit) {
    const rep = jsonOf(store, audit.outputs.report);
    const summary: Record<string, unknown> = {};
    if (rep && typeof rep === 'object' && !Array.isArray(rep)) for (const [k, v] of Object.entries(rep)) if (v === null || typeof v !== 'object') summary[k] = v;
    for (const k of ['dataset', 'status', 'rows', 'symbols', 'dates']) if (audit.outputs[k] !== undefined && typeof audit.outputs[k] !== 'object') summary[k] = audit.outputs[k];
    const byStatus: Record<string, number> = {};
    const perDate = findTables(rep, ['date'], ['status'])[0];
    if (perDate) for (const r of perDate.rows) byStatus[String(r.status)] = (byStatus[String(r.status)] ?? 0) + 1;
    else if (rep && typeof rep === 'object') {
      const counts = (rep as Record<string, unknown>).status_counts ?? (rep as Record<string, unknown>).by_status;
      if (counts && typeof counts === 'object') for (const [k, v] of Object.entries(counts)) if (num(v) !== undefined) byStatus[k] = num(v)!;
    }
    data.audit = {
      step: audit.stepId,
      status: (audit.outputs.status as string | undefined) ?? (summary.status as string | undefined) ?? (audit.status === 'failed' ? 'RED' : undefined),
      red_dates: Array.isArray(audit.outputs.red_dates) ? (audit.outputs.red_dates as unknown[]).map(String) : [],
      summary,
      by_status: byStatus,
    };
    if (!rep) missing.push(`data audit report artifact of step ${audit.stepId} (status shown from outputs only)`);
  } else missing.push('data audit (no qc.audit step in this run)');

  // ---- fit: IC per split/path, calibration ----
  const fit = byKind('fit.cpcv').find((s) => s.status === 'succeeded');
  if (fit) {
    const metrics = jsonOf(store, fit.outputs.metrics);
    const splitsT = findTables(metrics, ['split', 'fold', 'split_id'], ['ic', 'rank_ic', 'IC'])[0];
    const pathsT = findTables(metrics, ['path', 'path_id'], ['ic', 'rank_ic', 'IC'])[0];
    const splits = splitsT ? icPoints(splitsT.rows, ['split', 'fold', 'split_id'].find((k) => k in splitsT.rows[0]!)!) : [];
    const paths = pathsT ? icPoints(pathsT.rows, ['path', 'path_id'].find((k) => k in pathsT.rows[0]!)!) : [];
    const m = (metrics && typeof metrics === 'object' ? metrics : {}) as Record<string, unknown>;
    data.ic = {
      step: fit.stepId,
      sleeve: fit.outputs.sleeve as string | undefined,
      splits,
      paths,
      mean_ic: num(fit.outputs.mean_ic ?? m.mean_ic),
      mean_rank_ic: num(fit.outputs.mean_rank_ic ?? m.mean_rank_ic),
      icir: num(fit.outputs.icir ?? m.icir),
    };
    if (!splits.length && !paths.length) missing.push(`per-split/per-path IC (fit step ${fit.stepId} metrics hold no [{split|path, ic|rank_ic}] table)`);
    data.calibration = await calibration(fit, m, store);
    if (!data.calibration) missing.push(`calibration (fit step ${fit.stepId} has neither metrics.calibration nor a readable oof artifact)`);
  } else missing.push('model fit (no succeeded fit.cpcv step)');

  // ---- backtest ----
  const bt = byKind('backtest.cpcv_paths').find((s) => s.status === 'succeeded');
  if (bt && isRef(bt.outputs.returns) && store.has(bt.outputs.returns)) {
    const file = store.path(bt.outputs.returns);
    const { summaries, equity } = await backtestSeries(file);
    series.equity = equity;
    const agg = jsonOf(store, bt.outputs.metrics);
    const aggregate: Record<string, unknown> = {};
    if (agg && typeof agg === 'object') {
      const a = ((agg as Record<string, unknown>).aggregate ?? agg) as Record<string, unknown>;
      for (const [k, v] of Object.entries(a)) if (typeof v !== 'object' || v === null) aggregate[k] = v;
    }
    data.backtest = { step: bt.stepId, paths: summaries, aggregate, equity_points: equity.length };
  } else missing.push(bt ? `backtest returns artifact of step ${bt.stepId}` : 'backtest (no succeeded backtest.cpcv_paths step)');

  // ---- gate ----
  const gate = byKind('gate.governance')[0];
  if (gate) {
    const det = gate.error?.details as unknown;
    // gate.governance: `bars` (outputs, or error.details of a failed gate) = [{ id, value, op, threshold, pass, blocking, note }]
    const d = det as { bars?: unknown; table?: unknown } | undefined;
    const rawTable = [gate.outputs.bars, d?.bars, gate.outputs.table, Array.isArray(det) ? det : d?.table].find(Array.isArray) as Record<string, unknown>[] | undefined;
    const table: GateRow[] = (rawTable ?? []).map((r) => ({
      bar: `${String(r.id ?? r.bar ?? r.name ?? '')}${r.blocking === false ? ' (info)' : ''}`,
      value: r.value,
      threshold: r.threshold,
      op: String(r.op ?? ''),
      passed: Boolean(r.pass ?? r.passed),
    }));
    data.gate = { step: gate.stepId, status: gate.status, passed: gate.status === 'succeeded' && gate.outputs.passed !== false, table, message: gate.error?.message };
    if (!table.length) missing.push(`gate table (step ${gate.stepId} ${gate.status} without a table)`);
  } else missing.push('governance gate (no gate.governance step)');

  // ---- OPE ----
  const ope = byKind('rl.ope').find((s) => s.status === 'succeeded');
  if (ope) {
    const dr = (ope.outputs.dr ?? {}) as Record<string, unknown>;
    data.ope = { step: ope.stepId, accepted: ope.outputs.accepted as boolean | undefined, estimate: num(dr.estimate), lcb: num(dr.lcb), ucb: num(dr.ucb), baseline_value: num(ope.outputs.baseline_value) };
  }

  // ---- approval / promotion ----
  const appr = byKind('approval')[0];
  if (appr) {
    const o = appr.outputs;
    data.approval = { step: appr.stepId, status: appr.status, approved: o.approved as boolean | undefined, by: o.by as string | undefined, at: o.at as string | undefined, comment: o.comment as string | undefined, message: appr.error?.message };
  }
  const promo = byKind('promote')[0];
  if (promo) data.promotion = { step: promo.stepId, status: promo.status, outputs: promo.outputs };

  // ---- lineage: every artifact reference produced by data steps, plus model artifacts ----
  for (const s of input.steps) {
    if (!/^(ingest\.|qc\.|features\.|labels\.|fit\.|stack\.|portfolio\.|backtest\.)/.test(s.uses)) continue;
    for (const [k, v] of Object.entries(s.outputs)) {
      if (isRef(v)) data.lineage.datasets.push({ step: s.stepId, uses: s.uses, output: k, name: v.name, digest: v.digest, uri: v.uri });
    }
  }
  return { data, series };
}

async function calibration(fit: ReportStep, metrics: Record<string, unknown>, store: ArtifactStore): Promise<ReportData['calibration']> {
  const task = String(fit.outputs.task ?? metrics.task ?? 'regression');
  const given = findTables(metrics.calibration ?? metrics.reliability, ['bin'], ['mean_pred', 'frac_pos', 'mean_outcome'])[0];
  if (given) {
    const bins = given.rows.map((r) => ({ bin: num(r.bin) ?? 0, mean_pred: num(r.mean_pred) ?? 0, mean_outcome: num(r.mean_outcome ?? r.frac_pos) ?? 0, count: num(r.count) ?? 0 }));
    return { step: fit.stepId, task, bins, brier: num(metrics.brier), note: 'reliability bins reported by the fit step' };
  }
  const oof = fit.outputs.oof;
  if (!isRef(oof) || !store.has(oof)) return undefined;
  const file = sqlString(store.path(oof));
  const classification = task === 'classification';
  // Classifier score pred = P(+1) − P(−1); (pred+1)/2 = P(+1) + P(0)/2 = E[(label+1)/2], so the two are comparable on one axis.
  const predExpr = classification ? '(pred + 1) / 2' : 'pred';
  const outExpr = classification ? '(label + 1) / 2' : 'ret';
  const rows = await withDuckDB((con) =>
    queryRows<{ bin: number; mean_pred: number; mean_outcome: number; count: bigint; brier: number | null }>(
      con,
      `WITH d AS (SELECT ${predExpr} AS p, ${outExpr} AS y FROM read_parquet(${file}) WHERE pred IS NOT NULL AND ${classification ? 'label' : 'ret'} IS NOT NULL),
       b AS (SELECT p, y, ntile(10) OVER (ORDER BY p) AS bin FROM d)
       SELECT bin, avg(p) AS mean_pred, avg(y) AS mean_outcome, count(*) AS count,
              ${classification ? '(SELECT avg((p - y) * (p - y)) FROM d)' : 'NULL'} AS brier
       FROM b GROUP BY bin ORDER BY bin`,
    ),
  );
  if (!rows.length) return undefined;
  return {
    step: fit.stepId,
    task,
    bins: rows.map((r) => ({ bin: Number(r.bin), mean_pred: r.mean_pred, mean_outcome: r.mean_outcome, count: Number(r.count) })),
    brier: classification && rows[0]!.brier !== null ? Number(rows[0]!.brier) : undefined,
    note: classification
      ? 'OOF deciles of p = (pred+1)/2 against the observed (label+1)/2 (equals P(+1) for binary labels); Brier on the same scale'
      : 'OOF deciles of the regression score against the mean realised forward return',
  };
}

/** Per-path totals (sums of daily fractions) and the equity/drawdown series from a backtest returns Parquet. */
export async function backtestSeries(file: string): Promise<{ summaries: PathSummary[]; equity: EquityPoint[] }> {
  const f = sqlString(file);
  return withDuckDB(async (con) => {
    const summaries = await queryRows<Record<string, number | bigint | null>>(
      con,
      `WITH e AS (
         SELECT path, date, net, exp(sum(ln(greatest(1 + net, 1e-9))) OVER (PARTITION BY path ORDER BY date)) AS eq FROM read_parquet(${f})
       ), d AS (SELECT path, eq / max(eq) OVER (PARTITION BY path ORDER BY date) - 1 AS dd, eq FROM e)
       SELECT r.path, count(*) AS days, sum(gross) AS gross, sum(fee) AS fee, sum(spread) AS spread, sum(impact) AS impact, sum(borrow) AS borrow,
              sum(net) AS net, sum(turnover) AS turnover,
              (SELECT min(dd) FROM d WHERE d.path = r.path) AS max_drawdown,
              (SELECT last(eq ORDER BY date) FROM e WHERE e.path = r.path) - 1 AS total_return,
              CASE WHEN stddev_samp(net) > 0 THEN avg(net) / stddev_samp(net) * sqrt(252) END AS sharpe
       FROM read_parquet(${f}) r GROUP BY r.path ORDER BY r.path`,
    );
    const equity = await queryRows<{ path: number; date: Date; equity: number; drawdown: number }>(
      con,
      `WITH e AS (
         SELECT path, date, exp(sum(ln(greatest(1 + net, 1e-9))) OVER (PARTITION BY path ORDER BY date)) AS equity FROM read_parquet(${f})
       ) SELECT path, date, equity, equity / max(equity) OVER (PARTITION BY path ORDER BY date) - 1 AS drawdown FROM e ORDER BY path, date`,
    );
    return {
      summaries: summaries.map((s) => ({
        path: Number(s.path),
        days: Number(s.days),
        total_return: Number(s.total_return),
        max_drawdown: Number(s.max_drawdown),
        sharpe: s.sharpe === null ? null : Number(s.sharpe),
        gross: Number(s.gross),
        fee: Number(s.fee),
        spread: Number(s.spread),
        impact: Number(s.impact),
        borrow: Number(s.borrow),
        net: Number(s.net),
        turnover: Number(s.turnover),
      })),
      equity: equity.map((r) => ({ path: Number(r.path), date: r.date instanceof Date ? r.date.toISOString().slice(0, 10) : String(r.date), equity: r.equity, drawdown: r.drawdown })),
    };
  });
}
