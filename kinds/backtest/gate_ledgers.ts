/**
 * The gate's trial set: tonight's trials (gate_trials.ts) appended to the family's persistent,
 * append-only ledger (governance/trial_ledger.ts, on the tracker), then every trial the family ever
 * evaluated — N for the record, the effective N and V[SR] by ONC clustering for the DSR (López de
 * Prado 2019), and PBO by CSCV over the diverse set (Bailey, Borwein, López de Prado & Zhu 2015).
 * A known evaluation (same configuration, data and code) is read back, not re-traded.
 */
import type { PromotionConfig } from '../../governance/config.ts';
import { effectiveTrials, pboMatrix, type EffectiveTrials, type TrialStream } from '../../governance/effective_trials.ts';
import { pboCscv, type PboResult } from '../../governance/pbo.ts';
import { fromStreams, latestByKey, toStream, TrialLedger, type TrialEvaluation } from '../../governance/trial_ledger.ts';
import type { Tracker } from '../../tracking/types.ts';
import type { StepContext } from '../types.ts';
import type { TonightTrial } from './gate_trials.ts';

/** What the gate learns from the family's ledger. */
export interface FamilyTrials {
  family: string;
  /** Distinct trial keys in the ledger after tonight's appends. */
  nTrials: number;
  /** Trials without a stream (counted in N and, each as its own cluster, in the effective N). */
  nStreamless: number;
  /** Effective number of trials: ONC clusters of the streamed trials + the stream-less ones. */
  nEffective: number;
  effective: EffectiveTrials;
  /** Evaluations appended tonight / read back from earlier runs. */
  appended: number;
  reused: number;
  pbo: PboResult | null;
  pboError?: string;
  pboTrials: string[];
  pboExcluded: string[];
  /** Per sleeve: PBO among tonight's model trials of that sleeve (the stack-vs-sleeve bar). */
  sleevePbo: Map<string, PboResult | null>;
  /** The family's trials: key → label and kind (the report). */
  trials: { key: string; label: string; kind: string; sr: number | null; cluster: number | null; evaluated_at: string; pipeline_run: string }[];
}

/** Context fields {@link familyTrials} uses. */
export type LedgerContext = Pick<StepContext, 'runId' | 'workDir' | 'progress' | 'signal' | 'inputsKey'>;

/**
 * Appends tonight's trials to the family's ledger (streams computed only for evaluations the ledger
 * does not hold), reads every trial of the family back (latest evaluation per key, same calendar),
 * clusters the streamed ones and runs CSCV over those covering the candidate's dates.
 * Tracker failures propagate (a TrackerError fails the step: it is retried, never a verdict).
 */
export async function familyTrials(ctx: LedgerContext, tracker: Tracker, a: { family: string; calendar: string; tonight: TonightTrial[]; candidateDates: string[]; cfg: PromotionConfig }): Promise<FamilyTrials> {
  const ledger = new TrialLedger(tracker, a.family, ctx.workDir, ctx.inputsKey);
  const stored = (await ledger.list()).filter((e) => e.calendar === a.calendar);
  const byEval = new Map(stored.map((e) => [e.eval_digest, e]));
  const tonight = new Map<string, TrialEvaluation>();
  let appended = 0;
  for (const [i, t] of a.tonight.entries()) {
    ctx.progress({ fraction: 0.2 + (0.5 * i) / Math.max(1, a.tonight.length), message: `trial ${i + 1}/${a.tonight.length}: ${t.label}` });
    const known = byEval.get(t.evalDigest);
    const ev: TrialEvaluation = known ?? {
      family: a.family, key: t.key, eval_digest: t.evalDigest, kind: t.kind, label: t.label, config: t.config, calendar: a.calendar,
      pipeline_run: ctx.runId, evaluated_at: new Date().toISOString(), ...(t.stream ? fromStreams(await t.stream()) : { dates: [], paths: [] }),
    };
    if (!known && (await ledger.append(ev, new Set(byEval.keys())))) {
      appended++;
      byEval.set(ev.eval_digest, { ...ev, tracker_run: '', start_time: Date.now() });
    }
    tonight.set(ev.key, ev);
  }
  // tonight's evaluation of a key supersedes the stored ones
  const all: TrialEvaluation[] = [...latestByKey(stored).filter((e) => !tonight.has(e.key)), ...tonight.values()];
  return summarise(a, all, tonight, { appended, reused: a.tonight.length - appended });
}

function summarise(a: { family: string; candidateDates: string[]; cfg: PromotionConfig }, all: TrialEvaluation[], tonight: Map<string, TrialEvaluation>, counts: { appended: number; reused: number }): FamilyTrials {
  const streamed = all.filter((e) => e.paths.length > 0);
  const streams: TrialStream[] = streamed.map(toStream);
  const t = a.cfg.trials;
  const effective = effectiveTrials(streams, { aggregate: a.cfg.path_aggregate, mergeCorrelation: t.merge_correlation, minOverlap: t.min_overlap, maxClusters: t.max_clusters, nInit: t.n_init, seed: t.seed });
  const nStreamless = all.length - streamed.length;
  const pboRun = runPbo(streams, a.candidateDates, a.cfg);
  const sleevePbo = new Map<string, PboResult | null>();
  const bySleeve = new Map<string, TrialStream[]>();
  for (const e of tonight.values()) {
    const sleeve = e.kind === 'model' && typeof e.config.sleeve === 'string' ? e.config.sleeve : null;
    if (sleeve === null || !e.paths.length) continue;
    bySleeve.set(sleeve, [...(bySleeve.get(sleeve) ?? []), toStream(e)]);
  }
  for (const [s, list] of bySleeve) sleevePbo.set(s, runPbo(list, a.candidateDates, a.cfg).pbo);
  const clusterOf = new Map<string, number>();
  effective.clusters.forEach((c, i) => c.members.forEach((m) => clusterOf.set(m, i)));
  const srOf = new Map(streams.map((s, i) => [s.id, effective.trial_sr[i]!]));
  return {
    family: a.family,
    nTrials: all.length,
    nStreamless,
    nEffective: effective.k + nStreamless,
    effective,
    ...counts,
    ...pboRun,
    sleevePbo,
    trials: all.map((e) => ({ key: e.key, label: e.label, kind: e.kind, sr: finite(srOf.get(e.key)), cluster: clusterOf.get(e.key) ?? null, evaluated_at: e.evaluated_at, pipeline_run: e.pipeline_run })),
  };
}

const finite = (x: number | undefined): number | null => (x !== undefined && Number.isFinite(x) ? x : null);

/** CSCV over the streams covering the candidate's dates; CSCV RangeErrors become `pboError`. */
function runPbo(streams: TrialStream[], dates: string[], cfg: PromotionConfig): { pbo: PboResult | null; pboError?: string; pboTrials: string[]; pboExcluded: string[] } {
  const mx = pboMatrix(streams, dates, cfg.pbo.min_coverage);
  if (mx.ids.length < 2) return { pbo: null, pboError: `PBO needs at least 2 trial streams covering ${(cfg.pbo.min_coverage * 100).toFixed(0)}% of the candidate's dates; ${mx.ids.length} do`, pboTrials: mx.ids, pboExcluded: mx.excluded };
  try {
    return { pbo: pboCscv(mx.m, mx.T, mx.ids.length, { blocks: cfg.pbo.blocks }), pboTrials: mx.ids, pboExcluded: mx.excluded };
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    return { pbo: null, pboError: e.message, pboTrials: mx.ids, pboExcluded: mx.excluded };
  }
}

/**
 * The gate's cache fingerprint: the family ledger's evaluation runs not written by a step with
 * these inputs. Never throws: an unreachable tracker yields a unique value, so the step runs (and
 * then reports the tracker error itself).
 */
export async function ledgerHead(env: { home: string; artifacts: import('../../artifacts/store.ts').ArtifactStore; inputsKey: string }, family: string): Promise<unknown> {
  const { openTracker } = await import('../../tracking/index.ts');
  const { mkdtempSync, rmSync } = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const work = mkdtempSync(path.join(os.tmpdir(), 'trademl-ledger-head-'));
  try {
    const tracker = openTracker({ store: env.artifacts, home: env.home });
    try {
      return { family, others: await new TrialLedger(tracker, family, work).headExcept(env.inputsKey) };
    } finally {
      await tracker.close();
    }
  } catch (e) {
    return { family, unavailable: `${Date.now()}-${Math.random()}`, error: e instanceof Error ? e.message : String(e) };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
