/**
 * The candidate model of a run, by contract: its `model.bundle` values (one, or one per sleeve
 * blended by the `signals.oof` value whose components are exactly those sleeves), their local
 * files, the lineage and the summary the registered version carries. Used by the tracking
 * observer (challenger at gate time) and by the promote kind.
 */
import path from 'node:path';
import type { ArtifactStore } from '../artifacts/store.ts';
import { gateVerdict, modelBundle, ohlcvDaily } from '../contracts/index.ts';
import type { ContractValue } from '../contracts/define.ts';
import { UserError } from '../lib/errors.ts';
import { isRef } from '../report/json.ts';
import { artifactRefs, provided, type ViewStep } from '../report/provided.ts';
import { signalSummary, type SignalValue } from '../report/signals.ts';
import type { Consumes } from '../kinds/types.ts';
import type { CandidateFiles } from './registry.ts';
import { codeVersion } from './logging.ts';
import type { RunRecord, StepRecord } from './observer.ts';

/** A model bundle value (contract model.bundle). */
export type BundleValue = ContractValue<typeof modelBundle>;

/** A provided model bundle and its step. */
export interface BundleInput {
  step: string;
  value: BundleValue;
}

/** A provided OOF signal, its step and (when known) that step's raw outputs. */
export interface SignalInput {
  step: string;
  value: SignalValue;
  outputs?: Record<string, unknown>;
}

/** The blend of a multi-sleeve candidate: the signal that combines the sleeves and its stack weights. */
export interface Blend {
  step: string;
  sleeve: string;
  components: string[];
  weights: Record<string, number>;
  intercept: number;
}

/** A candidate made of one or more sleeves and, with several, the blend that combines them. */
export interface CandidateBundle {
  /** Files of the first sleeve (also stored at model/*.onnx|json for single-model consumers). */
  primary: CandidateFiles;
  sleeves: Array<{ sleeve: string; files: CandidateFiles }>;
  /** Local path of the stack weights JSON (`{ weights: {sleeve: w}, intercept, sleeves }`), when several sleeves. */
  stacker?: string;
  blend?: Blend;
  bundles: BundleInput[];
}

/** Local files of a model bundle (every file the contract names is an artifact in `store`). */
export function bundleFiles(store: ArtifactStore, b: BundleValue): CandidateFiles {
  return { onnx: store.path(b.onnx), featureList: store.path(b.feature_list), trainingConfig: store.path(b.training_config), metrics: store.path(b.metrics), native: { path: store.path(b.native), name: path.basename(b.native.name) } };
}

const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x) => b.includes(x));

/**
 * The stack weights of a blending signal: the contract value's `stacker` reference when the
 * contract carries one, else the providing step's `stacker` output. Throws a UserError otherwise.
 */
function stackerRef(sig: SignalInput) {
  const fromValue = (sig.value as Record<string, unknown>).stacker;
  const ref = isRef(fromValue) ? fromValue : sig.outputs?.stacker;
  if (!isRef(ref)) throw new UserError({ message: `signal ${sig.value.sleeve} of step ${sig.step} blends ${sig.value.components.join(', ')} but carries no stack weights (an artifact {weights, intercept} under "stacker")` });
  return ref;
}

function blendOf(store: ArtifactStore, sig: SignalInput, sleeves: string[]): { blend: Blend; stacker: string } {
  const ref = stackerRef(sig);
  const doc = store.readJson<{ weights?: unknown; intercept?: unknown; sleeves?: unknown }>(ref);
  const names = Array.isArray(doc.sleeves) ? (doc.sleeves as string[]) : sig.value.components;
  const raw = doc.weights;
  const weights: Record<string, number> = {};
  for (const [i, s] of sleeves.entries()) {
    const w = Array.isArray(raw) ? raw[names.indexOf(s) >= 0 ? names.indexOf(s) : i] : (raw as Record<string, unknown> | undefined)?.[s];
    if (typeof w !== 'number') throw new UserError({ message: `stack weights of step ${sig.step} have no weight for sleeve ${s}` });
    weights[s] = w;
  }
  const blend = { step: sig.step, sleeve: sig.value.sleeve, components: sig.value.components, weights, intercept: typeof doc.intercept === 'number' ? doc.intercept : 0 };
  return { blend, stacker: store.path(ref) };
}

/**
 * Builds a run's candidate from its model bundles (plan order) and signals. `sleeve` keeps only that
 * sleeve. One bundle: that model. Several: every sleeve plus the weights of the signal blending
 * exactly those sleeves, which scoring uses to combine the sleeves' per-date z-scored predictions.
 * Throws a UserError when nothing is left, sleeves repeat, or several sleeves have no blend.
 */
export function candidateBundle(store: ArtifactStore, bundles: readonly BundleInput[], signals: readonly SignalInput[], opts: { sleeve?: string } = {}): CandidateBundle {
  const picked = opts.sleeve ? bundles.filter((b) => b.value.sleeve === opts.sleeve) : [...bundles];
  if (!picked.length) {
    const have = bundles.map((b) => `${b.value.sleeve} (${b.step})`).join(', ');
    throw new UserError({ message: `no model bundle to register${opts.sleeve ? ` with sleeve ${opts.sleeve}` : ''}; ${have ? `the run provides ${have}` : 'no step provides model.bundle'}` });
  }
  const names = picked.map((b) => b.value.sleeve);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new UserError({ message: `two model bundles share sleeve ${dup} (${picked.filter((b) => b.value.sleeve === dup).map((b) => b.step).join(', ')}); give each fit its own sleeve` });
  const sleeves = picked.map((b) => ({ sleeve: b.value.sleeve, files: bundleFiles(store, b.value) }));
  if (picked.length === 1) return { primary: sleeves[0]!.files, sleeves, bundles: picked };
  const sig = signals.find((s) => sameSet(s.value.components, names));
  if (!sig) throw new UserError({ message: `${names.length} model bundles (${names.join(', ')}) but no signals.oof blends exactly those sleeves; add a stack step over them or pick one sleeve (promote with.sleeve)` });
  const { blend, stacker } = blendOf(store, sig, names);
  return { primary: sleeves[0]!.files, sleeves, stacker, blend, bundles: picked };
}

/**
 * Scalars copied onto the registered version's tags: sleeve(s), task, engine, and the IC of the
 * candidate's signal (the blend's, or the single sleeve's) computed from its OOF table.
 */
export async function candidateSummary(store: ArtifactStore, c: CandidateBundle, signals: readonly SignalInput[]): Promise<Record<string, string | number | boolean>> {
  const first = c.bundles[0]!.value;
  const out: Record<string, string | number | boolean> = { sleeve: c.blend ? c.blend.sleeve : first.sleeve, task: first.task, engine: [...new Set(c.bundles.map((b) => b.value.engine))].join('+') };
  if (c.blend) out.sleeves = c.bundles.map((b) => b.value.sleeve).join(',');
  const sig = c.blend ? signals.find((s) => s.step === c.blend!.step) : signals.find((s) => s.value.sleeve === first.sleeve && !s.value.components.length);
  if (sig && store.has(sig.value.oof)) {
    const s = await signalSummary(store, sig.value);
    for (const [k, v] of [['mean_ic', s.mean_ic], ['mean_rank_ic', s.mean_rank_ic], ['icir', s.icir]] as const) if (v !== undefined) out[k] = v;
    out.n_paths = sig.value.n_paths;
  }
  return out;
}

/** Digest of every artifact the run's steps returned: contract values by dotted key, other references by output. */
export function datasetDigests(steps: readonly ViewStep[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of steps) {
    if (s.status !== 'succeeded') continue;
    for (const [k, v] of Object.entries(s.outputs ?? {})) {
      if (s.provides?.[k]) for (const [key, ref] of artifactRefs(v)) out[key ? `${s.stepId}.${k}.${key}` : `${s.stepId}.${k}`] = ref.digest;
      else if (isRef(v)) out[`${s.stepId}.${k}`] = v.digest;
    }
  }
  return out;
}

/** The daily OHLCV a candidate scores from: the last `ohlcv.daily` value in step order (an audited view follows its ingest). */
export function scoringOhlcv(steps: readonly ViewStep[]): { uri: string; calendar: string } | undefined {
  const last = provided(steps, ohlcvDaily).at(-1);
  return last ? { uri: last.value.uri, calendar: last.value.calendar } : undefined;
}

/** What a registered version records of its candidate: sleeves, bundle steps and the blend. */
export function candidateLineage(c: CandidateBundle): Record<string, unknown> {
  return { sleeves: c.sleeves.map((s) => s.sleeve), model_steps: c.bundles.map((b) => b.step), ...(c.blend ? { blend: c.blend } : {}) };
}

/**
 * Settings of the run's promotion from the plan: the `with.model` and `with.sleeve` of the steps
 * whose kind consumes `model.bundle` (kinds declare it; no kind is named here). Expressions that
 * were not resolved at compile time are ignored.
 */
export async function promotionSettings(planSteps: ReadonlyArray<{ uses: string; with?: unknown }>): Promise<{ model?: string; sleeve?: string }> {
  const { STEP_KINDS } = await import('../kinds/registry.ts');
  const out: { model?: string; sleeve?: string } = {};
  for (const s of planSteps) {
    const consumes: Consumes = STEP_KINDS.get(s.uses)?.consumes ?? {};
    if (!Object.values(consumes).some((i) => i.contract.name === modelBundle.name)) continue;
    const w = (s.with ?? {}) as { model?: unknown; sleeve?: unknown };
    const lit = (v: unknown) => (typeof v === 'string' && v && !v.includes('${{') ? v : undefined);
    out.model ??= lit(w.model);
    out.sleeve ??= lit(w.sleeve);
  }
  return out;
}

/**
 * The lineage a registered candidate carries (its `lineage.json`): the TradeML run, plan digest,
 * params, code version and git commit, the digests of every artifact of the run's steps, the OHLCV
 * scoring reads, and the gate that passed it (step, verdict, table).
 */
export function runLineage(run: RunRecord, steps: ViewStep[], gate: StepRecord): Record<string, unknown> {
  const code = codeVersion();
  const ohlcv = scoringOhlcv(steps);
  const [verdict] = provided([gate], gateVerdict);
  return {
    run_id: run.runId,
    pipeline: run.pipeline,
    plan_digest: run.planDigest,
    params: run.params,
    code_version: code.version,
    git_commit: code.commit,
    datasets: datasetDigests(steps),
    ohlcv: ohlcv?.uri,
    ohlcv_calendar: ohlcv?.calendar,
    gate: { step: gate.stepId, passed: verdict?.value.passed, table: verdict?.value.table },
  };
}
