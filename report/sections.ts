/**
 * Report sections, one builder per contract: data quality (`data.quality`), signals
 * (`signals.oof`), backtests (`backtest.returns`), gates (`gate.verdict`), sizing (`sizing.policy`),
 * model bundles (`model.bundle`), plus the decisions of control steps (approvals).
 * Every builder reads only contract values (and the artifacts they reference).
 */
import type { ArtifactStore } from '../artifacts/store.ts';
import type { ContractValue } from '../contracts/define.ts';
import { dataQuality } from '../contracts/market.ts';
import { modelBundle, signalsOof, trialsLedger } from '../contracts/research.ts';
import { backtestReturns, gateVerdict, sizingPolicy } from '../contracts/trading.ts';
import { backtestFigures, flatScalars, type EquityPoint, type PathSummary } from './backtest.ts';
import { controlSteps, provided, providers, type ViewStep } from './provided.ts';
import { signalCalibration, signalSummary, type Calibration, type IcPoint, type SignalSummary } from './signals.ts';
import { findTables, jsonOf } from './json.ts';

export interface DataSection { key: string; step: string; status?: string; dataset?: string; red_dates: string[]; amber_dates: string[]; red_reasons: Array<{ rule: string; count: number }>; red_hints: string[]; lost_symbols: string[]; summary: Record<string, unknown>; by_status: Record<string, number>; message?: string }
export interface SignalSection extends Omit<SignalSummary, 'paths' | 'splits'> { key: string; step: string; output: string; uses: string; sleeve: string; task: string; calendar: string; n_paths: number; components: string[]; paths: IcPoint[]; splits: IcPoint[]; n_trials?: number; calibration?: Calibration }
export interface BacktestSection { key: string; step: string; output: string; calendar: string; execution: string; source: { step: string; sleeve: string }; paths: PathSummary[]; aggregate: Record<string, unknown>; equity_points: number }
export interface GateRow { bar: string; value: number | null; threshold: number | null; op: string; passed: boolean | null; blocking: boolean }
export interface GateSection { key: string; step: string; status: string; passed: boolean; table: GateRow[]; message?: string; figures?: { sharpe: number | null; max_drawdown: number | null; psr: number | null; dsr: number | null; pbo: number | null; n_trials: number } }
export interface SizingSection { key: string; step: string; accepted: boolean; policy: string; decision: string; estimator: string; margin: number; estimate?: number; lcb?: number; ucb?: number; baseline_value?: number }
export interface ModelSection { step: string; output: string; sleeve: string; task: string; engine: string; n_features: number; training_config_digest: string }
export interface ApprovalSection { step: string; status: string; approved?: boolean; by?: string; at?: string; comment?: string; message?: string }

/** Chart/section key of a provided value: its step id, or `step-output` when the step provides several. */
function keyOf(p: { step: string; output: string }, all: ReadonlyArray<{ step: string }>): string {
  return all.filter((x) => x.step === p.step).length > 1 ? `${p.step}-${p.output}` : p.step;
}

/** Data-quality sections: one per provider of `data.quality` (a failed audit shows its error). */
export function dataSections(steps: readonly ViewStep[], store: ArtifactStore, missing: string[]): DataSection[] {
  const out: DataSection[] = [];
  for (const s of providers(steps, dataQuality)) {
    const [q] = provided([s], dataQuality, missing);
    if (!q) {
      out.push({ key: s.stepId, step: s.stepId, red_dates: [], amber_dates: [], red_reasons: [], red_hints: [], lost_symbols: [], summary: {}, by_status: {}, message: s.error ? `${s.error.type}: ${s.error.message}` : `step ${s.status}` });
      continue;
    }
    const rep = jsonOf(store, q.value.report);
    if (rep === undefined) missing.push(`data-quality report artifact of step ${s.stepId} (status shown from the verdict only)`);
    const byStatus: Record<string, number> = {};
    const perDate = findTables(rep, ['date'], ['status'])[0];
    for (const r of perDate?.rows ?? []) byStatus[String(r.status)] = (byStatus[String(r.status)] ?? 0) + 1;
    const v = q.value;
    out.push({ key: s.stepId, step: s.stepId, status: v.status, dataset: v.dataset, red_dates: v.red_dates, amber_dates: v.amber_dates, red_reasons: v.red_reasons, red_hints: v.red_hints, lost_symbols: v.lost_symbols, summary: flatScalars(rep), by_status: byStatus });
  }
  return out;
}

/** Signal sections: IC per path and split, walk-forward, calibration and trial count of every `signals.oof` value. */
export async function signalSections(steps: readonly ViewStep[], store: ArtifactStore, missing: string[]): Promise<SignalSection[]> {
  const signals = provided(steps, signalsOof, missing);
  const trials = provided(steps, trialsLedger, missing);
  const out: SignalSection[] = [];
  for (const p of signals) {
    const v = p.value;
    const n = trials.filter((t) => t.value.sleeve === v.sleeve).reduce((a, t) => a + t.value.n_trials, 0);
    const base = { key: keyOf(p, signals), step: p.step, output: p.output, uses: p.uses, sleeve: v.sleeve, task: v.task, calendar: v.calendar, n_paths: v.n_paths, components: v.components, ...(n ? { n_trials: n } : {}) };
    if (!store.has(v.oof)) {
      missing.push(`OOF table of signal ${v.sleeve} (step ${p.step}) is not in the artifact store`);
      out.push({ ...base, target: 'ret', paths: [], splits: [], n_dates: 0 });
      continue;
    }
    const summary = await signalSummary(store, v);
    const calibration = await signalCalibration(store, v);
    if (!calibration) missing.push(`calibration of signal ${v.sleeve} (step ${p.step}: its OOF rows lack the columns it needs)`);
    out.push({ ...base, ...summary, ...(calibration ? { calibration } : {}) });
  }
  return out;
}

/** Backtest sections (and their equity series by key): one per `backtest.returns` value. */
export async function backtestSections(steps: readonly ViewStep[], store: ArtifactStore, missing: string[]): Promise<{ sections: BacktestSection[]; equity: Record<string, EquityPoint[]> }> {
  const values = provided(steps, backtestReturns, missing);
  const sections: BacktestSection[] = [];
  const equity: Record<string, EquityPoint[]> = {};
  for (const p of values) {
    const v = p.value;
    const key = keyOf(p, values);
    if (!store.has(v.returns)) {
      missing.push(`backtest returns artifact of step ${p.step}`);
      continue;
    }
    const f = await backtestFigures(store, v);
    equity[key] = f.equity;
    sections.push({ key, step: p.step, output: p.output, calendar: v.calendar, execution: v.execution, source: v.source, paths: f.paths, aggregate: f.aggregate, equity_points: f.equity.length });
  }
  return { sections, equity };
}

const barsSchema = gateVerdict.schema.shape.bars;

/**
 * The verdict of a gate step: the value it provides, or, for a gate that failed on its bars, the
 * verdict its error carries in `details.verdict`. `provided` tells which.
 */
export function gateVerdictOf(s: ViewStep): { verdict: ContractValue<typeof gateVerdict>; provided: boolean } | undefined {
  const [v] = provided([s], gateVerdict);
  if (v) return { verdict: v.value, provided: true };
  const r = gateVerdict.schema.safeParse((s.error?.details as { verdict?: unknown } | undefined)?.verdict);
  return r.success ? { verdict: r.data, provided: false } : undefined;
}

/** The bars of a gate step: from its verdict, or from `error.details.bars` of a gate that failed on them. */
export function gateBars(s: ViewStep): ReturnType<typeof barsSchema.parse> | undefined {
  const v = gateVerdictOf(s);
  if (v) return v.verdict.bars;
  const r = barsSchema.safeParse((s.error?.details as { bars?: unknown } | undefined)?.bars);
  return r.success ? r.data : undefined;
}

/** Gate sections: one per step declaring `gate.verdict`, with its bar table (also for a failed gate). */
export function gateSections(steps: readonly ViewStep[], missing: string[]): GateSection[] {
  return providers(steps, gateVerdict).map((s) => {
    provided([s], gateVerdict, missing);
    const g = gateVerdictOf(s);
    const table: GateRow[] = (gateBars(s) ?? []).map((b) => ({ bar: b.id, value: b.value, threshold: b.threshold, op: b.op, passed: b.pass, blocking: b.blocking }));
    if (!table.length) missing.push(`gate table (step ${s.stepId} ${s.status} without bars)`);
    const v = g?.verdict;
    const figures = v ? { sharpe: v.sharpe, max_drawdown: v.max_drawdown, psr: v.psr, dsr: v.dsr, pbo: v.pbo, n_trials: v.n_trials } : undefined;
    return { key: s.stepId, step: s.stepId, status: s.status, passed: g?.provided === true && v!.passed, table, message: s.error?.message, ...(figures ? { figures } : {}) };
  });
}

/** Sizing (OPE) sections: one per `sizing.policy` value, with the learned policy's estimate and the baseline. */
export function sizingSections(steps: readonly ViewStep[], missing: string[]): SizingSection[] {
  return provided(steps, sizingPolicy, missing).map((p) => {
    const v = p.value;
    return { key: p.step, step: p.step, accepted: v.accepted, policy: v.policy, decision: v.decision, estimator: v.estimator, estimate: v.estimate?.estimate, lcb: v.estimate?.lcb, ucb: v.estimate?.ucb, baseline_value: v.baseline_value ?? undefined, margin: v.margin };
  });
}

/** Model sections: one per `model.bundle` value (the run's candidate models). */
export function modelSections(steps: readonly ViewStep[], missing: string[]): ModelSection[] {
  return provided(steps, modelBundle, missing).map((p) => ({ step: p.step, output: p.output, sleeve: p.value.sleeve, task: p.value.task, engine: p.value.engine, n_features: p.value.feature_names.length, training_config_digest: p.value.training_config_digest }));
}

/** Decisions of the run's control steps (approvals). */
export function approvalSections(steps: readonly ViewStep[]): ApprovalSection[] {
  return controlSteps(steps).map((s) => {
    const o = s.outputs;
    const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
    return { step: s.stepId, status: s.status, approved: typeof o.approved === 'boolean' ? o.approved : undefined, by: str(o.by), at: str(o.at), comment: str(o.comment), message: s.error?.message };
  });
}
