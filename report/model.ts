/**
 * The data of a run report (report.json): the run, its DAG and step timings, and one section per
 * provided contract value (report/sections.ts). Which sections appear follows what the steps
 * provide, never which kinds ran.
 */
import type { ArtifactStore } from '../artifacts/store.ts';
import type { EquityPoint } from './backtest.ts';
import { artifactRefs, type ViewStep } from './provided.ts';
import {
  approvalSections,
  backtestSections,
  dataSections,
  gateSections,
  modelSections,
  signalSections,
  sizingSections,
  type ApprovalSection,
  type BacktestSection,
  type DataSection,
  type GateSection,
  type ModelSection,
  type SignalSection,
  type SizingSection,
} from './sections.ts';

export { isRef, jsonOf } from './json.ts';
export type { EquityPoint, PathSummary } from './backtest.ts';
export type { CalibrationBin, IcPoint } from './signals.ts';
export type { GateRow } from './sections.ts';

/** One step as the report sees it (from the runtime's StepRecord, or from a step's ancestors). */
export interface ReportStep extends ViewStep {
  startedAt?: string;
  endedAt?: string;
  durationMs?: number;
  cacheHit?: boolean;
  attempts?: number;
}

/** The model version a run registered (the tracking observer knows it). */
export interface Registration {
  model: string;
  version: string;
  aliases: string[];
  sleeves: string[];
  blend?: { step: string; components: string[]; weights: Record<string, number> };
}

export interface ReportInput {
  runId: string;
  pipeline: string;
  /** Page title (default: TradeML run report). */
  title?: string;
  status: string;
  planDigest?: string;
  params?: Record<string, unknown>;
  startedAt?: string;
  endedAt?: string;
  steps: ReportStep[];
  /** Extra lineage (code version, git commit, tracker run, model version). */
  lineage?: Record<string, unknown>;
  registration?: Registration;
}

/** Everything report.json holds (and report.html draws). Sections absent upstream are listed in `missing`. */
export interface ReportData {
  schema: 'trademl.report/v2';
  run: { run_id: string; pipeline: string; title?: string; status: string; plan_digest?: string; params?: Record<string, unknown>; started_at?: string; ended_at?: string; duration_ms?: number };
  steps: Array<Omit<ReportStep, 'outputs' | 'error' | 'control'> & { control: boolean; layer: number; row: number; offset_ms?: number; error?: string; error_type?: string }>;
  edges: Array<{ from: string; to: string }>;
  data: DataSection[];
  signals: SignalSection[];
  backtests: BacktestSection[];
  gates: GateSection[];
  sizing: SizingSection[];
  models: ModelSection[];
  approvals: ApprovalSection[];
  registration?: Registration;
  lineage: { plan_digest?: string; datasets: Array<{ step: string; uses: string; output: string; contract: string; name: string; digest: string; uri: string }>; extra: Record<string, unknown> };
  missing: string[];
}

/** Series the charts need but report.json does not carry in full: equity points by backtest key. */
export interface ReportSeries {
  equity: Record<string, EquityPoint[]>;
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

function runOf(input: ReportInput, t0: number): ReportData['run'] {
  const ended = input.endedAt ? Date.parse(input.endedAt) : undefined;
  return {
    run_id: input.runId,
    pipeline: input.pipeline,
    ...(input.title ? { title: input.title } : {}),
    status: input.status,
    plan_digest: input.planDigest,
    params: input.params,
    started_at: input.startedAt,
    ended_at: input.endedAt,
    duration_ms: ended !== undefined && Number.isFinite(t0) ? ended - t0 : undefined,
  };
}

function stepsOf(input: ReportInput, t0: number): Pick<ReportData, 'steps' | 'edges'> {
  const { layers, edges } = layout(input.steps);
  const steps: ReportData['steps'] = input.steps.map((s) => {
    const { outputs: _o, error, control, ...rest } = s;
    const start = s.startedAt ? Date.parse(s.startedAt) : undefined;
    const end = s.endedAt ? Date.parse(s.endedAt) : undefined;
    return {
      ...rest,
      control: Boolean(control),
      durationMs: s.durationMs ?? (start !== undefined && end !== undefined ? end - start : undefined),
      offset_ms: start !== undefined && Number.isFinite(t0) ? start - t0 : undefined,
      ...layers.get(s.stepId)!,
      error: error?.message,
      error_type: error?.type,
    };
  });
  return { steps, edges };
}

/** Every artifact a succeeded step provides under a contract (lineage of the run). */
function lineageDatasets(steps: readonly ReportStep[]): ReportData['lineage']['datasets'] {
  const out: ReportData['lineage']['datasets'] = [];
  for (const s of steps) {
    if (s.status !== 'succeeded') continue;
    for (const [output, contract] of Object.entries(s.provides ?? {})) {
      for (const [key, ref] of artifactRefs(s.outputs[output])) out.push({ step: s.stepId, uses: s.uses, output: key ? `${output}.${key}` : output, contract, name: ref.name, digest: ref.digest, uri: ref.uri });
    }
  }
  return out;
}

/**
 * Builds the report data of a run from what its steps provide (reading artifacts from `store`).
 * Tolerant: a contract no step provides, or an artifact that is not in the store, leaves its
 * section out and is named in `missing`.
 */
export async function buildReportData(input: ReportInput, store: ArtifactStore): Promise<{ data: ReportData; series: ReportSeries }> {
  const missing: string[] = [];
  const t0 = input.startedAt ? Date.parse(input.startedAt) : Math.min(...input.steps.map((s) => (s.startedAt ? Date.parse(s.startedAt) : Infinity)));
  const steps = input.steps;
  const data = dataSections(steps, store, missing);
  const signals = await signalSections(steps, store, missing);
  const bt = await backtestSections(steps, store, missing);
  const gates = gateSections(steps, missing);
  if (!data.length) missing.push('data quality (no step provides data.quality)');
  if (!signals.length) missing.push('signals (no step provides signals.oof)');
  if (!bt.sections.length) missing.push('backtest (no step provides backtest.returns)');
  if (!gates.length) missing.push('governance gate (no step provides gate.verdict)');
  const report: ReportData = {
    schema: 'trademl.report/v2',
    run: runOf(input, t0),
    ...stepsOf(input, t0),
    data,
    signals,
    backtests: bt.sections,
    gates,
    sizing: sizingSections(steps, missing),
    models: modelSections(steps, missing),
    approvals: approvalSections(steps),
    ...(input.registration ? { registration: input.registration } : {}),
    lineage: { plan_digest: input.planDigest, datasets: lineageDatasets(steps), extra: { ...(input.lineage ?? {}) } },
    missing,
  };
  return { data: report, series: { equity: bt.equity } };
}
