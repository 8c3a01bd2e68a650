/**
 * The persistent, append-only trial ledger of a model family: every trial ever evaluated for the
 * family (learner settings of every sleeve, stacker, portfolio, costs and sizing settings), across
 * nights and config changes, with its tradable per-path return stream. DSR needs the number of
 * trials actually tried and PBO a diverse trial set (Bailey & López de Prado 2014; Bailey et al.
 * 2015; López de Prado 2019 on counting every trial).
 *
 * Storage: the Tracker (tracking/types.ts) — the local DuckDB tracker embedded, MLflow when
 * configured — so every worker of either host appends to and reads the same ledger. One tracker
 * run per evaluation in experiment `trademl-trials/<family>`, tagged with the trial key and the
 * evaluation digest, its stream as the artifact `trial_evaluation.json`. Nothing is ever updated or
 * deleted: a re-evaluation is a new run, readers keep the latest evaluation of each key, and a
 * duplicate append (two workers at once) is harmless because readers dedupe by evaluation digest.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { RunInfo, Tracker } from '../tracking/types.ts';
import type { TrialStream } from './effective_trials.ts';

/** Tag marking ledger runs, and its value (the ledger format version). */
export const LEDGER_TAG = 'trademl.ledger';
export const LEDGER_FORMAT = 'trials/v1';
const ARTIFACT = 'trial_evaluation.json';

const evaluationSchema = z.object({
  family: z.string(),
  key: z.string(),
  eval_digest: z.string(),
  kind: z.enum(['model', 'candidate', 'sizing']),
  label: z.string(),
  config: z.record(z.string(), z.unknown()),
  calendar: z.string(),
  pipeline_run: z.string(),
  evaluated_at: z.string(),
  dates: z.array(z.string()),
  paths: z.array(z.object({ path: z.number().int(), net: z.array(z.number().nullable()) })),
});

/**
 * One evaluation of one trial: `key` names the trial (its configuration; the same key on new data is
 * the same trial re-evaluated), `eval_digest` this evaluation (configuration + data + code).
 * `paths[].net[i]` is the daily net return (fraction of capital) on `dates[i]`, null where the path
 * has none; `paths` is empty for a trial without a stream (e.g. the sizing policy not kept).
 */
export type TrialEvaluation = z.output<typeof evaluationSchema>;

/** An evaluation as read back, with the tracker run that holds it. */
export interface StoredEvaluation extends TrialEvaluation {
  tracker_run: string;
  /** Epoch ms the evaluation was appended. */
  start_time: number;
}

/** The streams of an evaluation as governance/effective_trials.ts takes them. */
export function toStream(e: TrialEvaluation): TrialStream {
  const paths = new Map<number, Map<string, number>>();
  for (const p of e.paths) {
    const m = new Map<string, number>();
    p.net.forEach((v, i) => v !== null && Number.isFinite(v) && m.set(e.dates[i]!, v));
    paths.set(p.path, m);
  }
  return { id: e.key, paths };
}

/** Per-path streams on one date axis (the evaluation's `dates`/`paths`), dates ascending. */
export function fromStreams(paths: Map<number, Map<string, number>>): Pick<TrialEvaluation, 'dates' | 'paths'> {
  const dates = [...new Set([...paths.values()].flatMap((m) => [...m.keys()]))].sort();
  const out = [...paths.entries()].sort((a, b) => a[0] - b[0]).map(([p, m]) => ({ path: p, net: dates.map((d) => m.get(d) ?? null) }));
  return { dates, paths: out };
}

/** The latest evaluation of every trial key (ties: the later-appended run id order), keys sorted. */
export function latestByKey(evs: StoredEvaluation[]): StoredEvaluation[] {
  const best = new Map<string, StoredEvaluation>();
  for (const e of evs) {
    const b = best.get(e.key);
    if (!b || e.start_time > b.start_time || (e.start_time === b.start_time && e.tracker_run > b.tracker_run)) best.set(e.key, e);
  }
  return [...best.values()].sort((a, b) => (a.key < b.key ? -1 : 1));
}

/** A family's ledger on a tracker. `workDir` holds downloaded and staged evaluation files. */
export class TrialLedger {
  private expId: string | undefined;

  /**
   * @param inputsKey the writing step's inputs digest (StepContext.inputsKey): appended evaluations
   *   are tagged with it, so {@link TrialLedger.headExcept} can leave a step's own writes out.
   */
  constructor(
    private readonly tracker: Tracker,
    readonly family: string,
    private readonly workDir: string,
    private readonly inputsKey = '',
  ) {}

  /**
   * The ledger's head as a cache fingerprint: ids of every finished evaluation run not written by a
   * step with `inputsKey` (two tag queries, no downloads). Sorted.
   */
  async headExcept(inputsKey: string): Promise<string[]> {
    const exp = await this.experiment();
    const all = await this.tracker.searchRuns(exp, { [LEDGER_TAG]: LEDGER_FORMAT }, 1_000_000);
    const mine = new Set((await this.tracker.searchRuns(exp, { [LEDGER_TAG]: LEDGER_FORMAT, 'trademl.inputs_key': inputsKey }, 1_000_000)).map((r) => r.runId));
    return all.filter((r) => r.status === 'FINISHED' && !mine.has(r.runId)).map((r) => r.runId).sort();
  }

  /** The tracker experiment holding the family's ledger. */
  get experimentName(): string {
    return `trademl-trials/${this.family}`;
  }

  private async experiment(): Promise<string> {
    this.expId ??= await this.tracker.getOrCreateExperiment(this.experimentName);
    return this.expId;
  }

  /** Every finished evaluation of the family (oldest first); runs without a readable artifact are skipped. */
  async list(): Promise<StoredEvaluation[]> {
    const exp = await this.experiment();
    const runs = (await this.tracker.searchRuns(exp, { [LEDGER_TAG]: LEDGER_FORMAT }, 1_000_000)).filter((r) => r.status === 'FINISHED');
    const out: StoredEvaluation[] = [];
    const seen = new Set<string>();
    for (const r of [...runs].sort((a, b) => a.startTime - b.startTime || (a.runId < b.runId ? -1 : 1))) {
      const e = await this.read(r);
      if (!e || seen.has(e.eval_digest)) continue;
      seen.add(e.eval_digest);
      out.push(e);
    }
    return out;
  }

  private async read(r: RunInfo): Promise<StoredEvaluation | null> {
    const dir = path.join(this.workDir, 'ledger', r.runId);
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, ARTIFACT);
    try {
      await this.tracker.downloadArtifact(r.runId, ARTIFACT, file);
    } catch {
      return null; // a run whose writer died before the artifact landed: the trial is re-appended by its next evaluation
    }
    const parsed = evaluationSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    return parsed.success && parsed.data.family === this.family ? { ...parsed.data, tracker_run: r.runId, start_time: r.startTime } : null;
  }

  /**
   * Appends one evaluation unless one with the same `eval_digest` is already recorded. Returns true
   * when it appended. Tracker failures propagate (TrackerError).
   */
  async append(e: TrialEvaluation, known: ReadonlySet<string>): Promise<boolean> {
    if (known.has(e.eval_digest)) return false;
    const exp = await this.experiment();
    const tags = { [LEDGER_TAG]: LEDGER_FORMAT, 'trademl.family': this.family, 'trademl.trial_key': e.key, 'trademl.trial_kind': e.kind, 'trademl.eval_digest': e.eval_digest, 'trademl.run_id': e.pipeline_run, ...(this.inputsKey ? { 'trademl.inputs_key': this.inputsKey } : {}) };
    const run = await this.tracker.createRun({ experimentId: exp, runName: e.label, tags });
    const dir = path.join(this.workDir, 'ledger-out', run.runId);
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, ARTIFACT);
    writeFileSync(file, JSON.stringify(e));
    await this.tracker.logArtifact(run.runId, file, ARTIFACT);
    await this.tracker.updateRun(run.runId, { status: 'FINISHED', endTime: Date.now() });
    return true;
  }
}
