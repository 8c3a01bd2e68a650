import { mkdirSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../lib/errors.ts';
import { writeOnnxMlmodel } from './mlmodel.ts';
import type { ModelVersion, RegisteredModel, Tracker } from './types.ts';

/** The aliases TradeML manages on every registered model. */
export const ALIAS = { champion: 'champion', previous: 'previous-champion', challenger: 'challenger' } as const;

/** Files a model version carries under its run's `model/` artifact folder. */
export const MODEL_FILES = {
  onnx: 'model.onnx',
  featureList: 'feature_list.json',
  trainingConfig: 'training_config.json',
  metrics: 'metrics.json',
  lineage: 'lineage.json',
  stacker: 'stacker.json',
  manifest: 'manifest.json',
} as const;

/** Tag keys on tracker runs and model versions. */
export const TAG = {
  runId: 'trademl.run_id',
  pipeline: 'trademl.pipeline',
  planDigest: 'trademl.plan_digest',
  approval: 'trademl.approval',
  approvedBy: 'trademl.approved_by',
  approvedAt: 'trademl.approved_at',
  approvalComment: 'trademl.approval_comment',
  promotedAt: 'trademl.promoted_at',
  gate: 'trademl.gate',
} as const;

export interface CandidateFiles {
  /** Local path of the ONNX model. */
  onnx: string;
  /** Local path of a JSON file: the ordered feature list (or the feature registry entry holding it). */
  featureList: string;
  trainingConfig?: string;
  metrics?: string;
  /** The learner's own serialised model: local path and file name (stored as `model/native/<name>`). */
  native?: { path: string; name: string };
}

export interface Approval {
  approved: boolean;
  by: string;
  at: string;
  comment: string;
}

/** A model's aliases resolved to versions, as `trademl models show` prints them. */
export interface ModelOverview {
  model: RegisteredModel;
  versions: ModelVersion[];
  champion?: ModelVersion;
  previousChampion?: ModelVersion;
  challenger?: ModelVersion;
}

/**
 * Champion/challenger model registry on top of any {@link Tracker}.
 * - `registerCandidate`: one model version per (model, TradeML run), idempotent, files under `model/`.
 * - `setChallenger`: a candidate that passed the gate and awaits approval.
 * - `promote`: champion → version, the old champion becomes `previous-champion`; idempotent.
 * - `rollback`: swaps `champion` and `previous-champion`.
 * Rejections and failed gates never call any of these, so they change no alias.
 */
export class ModelRegistry {
  constructor(readonly tracker: Tracker) {}

  /** The tracker run that holds a TradeML run's logs (created on demand in experiment `experiment`). */
  async trackerRunFor(trademlRunId: string, experiment: string, tags: Record<string, string> = {}): Promise<string> {
    const expId = await this.tracker.getOrCreateExperiment(experiment);
    const [found] = await this.tracker.searchRuns(expId, { [TAG.runId]: trademlRunId }, 1);
    if (found) return found.runId;
    const run = await this.tracker.createRun({ experimentId: expId, runName: trademlRunId, tags: { [TAG.runId]: trademlRunId, ...tags } });
    return run.runId;
  }

  /** The version registered for a TradeML run, if any. */
  async versionForRun(model: string, trademlRunId: string): Promise<ModelVersion | undefined> {
    if (!(await this.tracker.getRegisteredModel(model))) return undefined;
    return (await this.tracker.listModelVersions(model)).find((v) => v.tags[TAG.runId] === trademlRunId);
  }

  /**
   * Registers the candidate of TradeML run `trademlRunId` as a new version of `model` (or returns the
   * version already registered for that run). Uploads the files to the tracker run's `model/` folder.
   * @param summary scalar metrics copied onto the version's tags (e.g. mean_rank_ic, icir).
   */
  async registerCandidate(opts: {
    model: string;
    experiment: string;
    trademlRunId: string;
    pipeline: string;
    files: CandidateFiles;
    /** Several sleeves (stored under model/sleeves/<name>/) blended by `stacker` (model/stacker.json). */
    sleeves?: Array<{ sleeve: string; files: CandidateFiles }>;
    stacker?: string;
    lineage: Record<string, unknown>;
    summary?: Record<string, string | number | boolean>;
    workDir: string;
  }): Promise<ModelVersion> {
    const existing = await this.versionForRun(opts.model, opts.trademlRunId);
    if (existing) return existing;
    const trackerRun = await this.trackerRunFor(opts.trademlRunId, opts.experiment, { [TAG.pipeline]: opts.pipeline });
    mkdirSync(opts.workDir, { recursive: true });
    const lineagePath = path.join(opts.workDir, MODEL_FILES.lineage);
    writeFileSync(lineagePath, JSON.stringify(opts.lineage, null, 2));
    await this.uploadFiles(trackerRun, opts.files, 'model');
    await this.tracker.logArtifact(trackerRun, lineagePath, `model/${MODEL_FILES.lineage}`);
    // The MLflow model format beside model.onnx (MLmodel with the onnx flavor, signature from the graph).
    for (const [src, name] of writeOnnxMlmodel({ onnx: opts.files.onnx, dir: path.join(opts.workDir, 'mlmodel'), runId: trackerRun })) await this.tracker.logArtifact(trackerRun, src, `model/${name}`);
    const blended = Boolean(opts.sleeves && opts.sleeves.length > 1);
    if (blended) {
      if (!opts.stacker) throw new UserError({ message: 'several sleeves need a stacker to blend them' });
      for (const sl of opts.sleeves!) {
        if (!/^[\w.\-]+$/.test(sl.sleeve)) throw new UserError({ message: `sleeve name "${sl.sleeve}" may only hold letters, digits, '_', '-', '.'` });
        await this.uploadFiles(trackerRun, sl.files, `model/sleeves/${sl.sleeve}`);
      }
      await this.tracker.logArtifact(trackerRun, opts.stacker, `model/${MODEL_FILES.stacker}`);
    }
    const manifest = path.join(opts.workDir, MODEL_FILES.manifest);
    writeFileSync(manifest, JSON.stringify({ sleeves: blended ? opts.sleeves!.map((s) => s.sleeve) : [], stacker: blended }));
    await this.tracker.logArtifact(trackerRun, manifest, `model/${MODEL_FILES.manifest}`);
    await this.tracker.ensureRegisteredModel(opts.model, `TradeML model ${opts.model}`);
    const info = (await this.tracker.getRun(trackerRun)).info;
    const tags: Record<string, string> = { [TAG.runId]: opts.trademlRunId, [TAG.pipeline]: opts.pipeline };
    for (const [k, v] of Object.entries(opts.summary ?? {})) tags[`trademl.metric.${k}`] = String(v);
    return this.tracker.createModelVersion({
      name: opts.model,
      source: info.artifactUri ? `${info.artifactUri}/model` : `runs:/${trackerRun}/model`,
      runId: trackerRun,
      description: `candidate of run ${opts.trademlRunId} (${opts.pipeline})`,
      tags,
    });
  }

  /** Uploads one model's files (ONNX, feature list, training config, metrics, native model) under `dir`. */
  private async uploadFiles(trackerRun: string, f: CandidateFiles, dir: string): Promise<void> {
    const uploads: Array<[string | undefined, string]> = [
      [f.onnx, MODEL_FILES.onnx],
      [f.featureList, MODEL_FILES.featureList],
      [f.trainingConfig, MODEL_FILES.trainingConfig],
      [f.metrics, MODEL_FILES.metrics],
      [f.native?.path, `native/${f.native?.name}`],
    ];
    for (const [src, name] of uploads) if (src) await this.tracker.logArtifact(trackerRun, src, `${dir}/${name}`);
  }

  /** Points `challenger` at `version` (a gate-passed candidate awaiting approval). */
  async setChallenger(model: string, version: string): Promise<void> {
    await this.tracker.setAlias(model, ALIAS.challenger, version);
  }

  /** Records an approval decision on a version's tags. Changes no alias. */
  async recordDecision(model: string, version: string, d: Approval): Promise<void> {
    await this.tracker.setModelVersionTag(model, version, TAG.approval, d.approved ? 'approved' : 'rejected');
    await this.tracker.setModelVersionTag(model, version, TAG.approvedBy, d.by);
    await this.tracker.setModelVersionTag(model, version, TAG.approvedAt, d.at);
    await this.tracker.setModelVersionTag(model, version, TAG.approvalComment, d.comment);
  }

  /**
   * Makes `version` the champion; the current champion (if another version) becomes
   * `previous-champion`; `challenger` is cleared when it pointed at `version`. Re-running with the
   * same version changes nothing (safe to retry). Refuses a decision that is not an approval.
   */
  async promote(model: string, version: string, approval: Approval): Promise<{ champion: string; previousChampion?: string; changed: boolean }> {
    if (!approval.approved) throw new UserError({ message: `refusing to promote ${model} v${version}: the approval was a rejection` });
    const target = await this.tracker.getModelVersion(model, version);
    if (!target) throw new UserError({ message: `model ${model} has no version ${version}; see \`trademl models show ${model}\`` });
    const current = await this.tracker.getVersionByAlias(model, ALIAS.champion);
    if (current?.version === version) {
      const prev = await this.tracker.getVersionByAlias(model, ALIAS.previous);
      return { champion: version, previousChampion: prev?.version, changed: false };
    }
    await this.recordDecision(model, version, approval);
    if (current) await this.tracker.setAlias(model, ALIAS.previous, current.version);
    await this.tracker.setAlias(model, ALIAS.champion, version);
    await this.tracker.setModelVersionTag(model, version, TAG.promotedAt, new Date().toISOString());
    const challenger = await this.tracker.getVersionByAlias(model, ALIAS.challenger);
    if (challenger?.version === version) await this.tracker.deleteAlias(model, ALIAS.challenger);
    return { champion: version, previousChampion: current?.version, changed: true };
  }

  /** Moves `champion` back to `previous-champion` (and the rolled-back version becomes `previous-champion`). */
  async rollback(model: string): Promise<{ champion: string; previousChampion: string }> {
    await this.requireModel(model);
    const prev = await this.tracker.getVersionByAlias(model, ALIAS.previous);
    const cur = await this.tracker.getVersionByAlias(model, ALIAS.champion);
    if (!prev) throw new UserError({ message: `model ${model} has no previous-champion to roll back to (only one version was ever promoted)` });
    if (!cur) throw new UserError({ message: `model ${model} has no champion; nothing to roll back` });
    await this.tracker.setAlias(model, ALIAS.champion, prev.version);
    await this.tracker.setAlias(model, ALIAS.previous, cur.version);
    await this.tracker.setModelVersionTag(model, prev.version, 'trademl.rolled_back_to_at', new Date().toISOString());
    return { champion: prev.version, previousChampion: cur.version };
  }

  private async requireModel(model: string): Promise<RegisteredModel> {
    const m = await this.tracker.getRegisteredModel(model);
    if (!m) {
      const names = (await this.tracker.listRegisteredModels()).map((x) => x.name);
      throw new UserError({ message: `no registered model named "${model}"${names.length ? `; known: ${names.join(', ')}` : ' (none registered yet: a run must pass the gate first)'}` });
    }
    return m;
  }

  /** A model with its versions and resolved aliases. */
  async show(model: string): Promise<ModelOverview> {
    const m = await this.requireModel(model);
    const versions = await this.tracker.listModelVersions(model);
    const byAlias = (a: string) => {
      const v = m.aliases.find((x) => x.alias === a)?.version;
      return v ? versions.find((x) => x.version === v) : undefined;
    };
    return { model: m, versions, champion: byAlias(ALIAS.champion), previousChampion: byAlias(ALIAS.previous), challenger: byAlias(ALIAS.challenger) };
  }

  /** Every registered model with its aliases. */
  async list(): Promise<RegisteredModel[]> {
    return this.tracker.listRegisteredModels();
  }

  /**
   * Resolves `name@alias`, `name/<version>` or `name` (= `name@champion`) to a model version.
   * Throws a UserError naming what exists when it does not resolve.
   */
  async resolve(spec: string): Promise<ModelVersion> {
    const m = /^([^@/]+)(?:@([\w.\- ]+)|\/(\d+))?$/.exec(spec.trim());
    if (!m) throw new UserError({ message: `bad model reference "${spec}": use NAME@ALIAS (e.g. equities_xs@champion) or NAME/VERSION` });
    const [, name, alias, version] = m as unknown as [string, string, string | undefined, string | undefined];
    const model = await this.requireModel(name);
    if (version) {
      const v = await this.tracker.getModelVersion(name, version);
      if (!v) throw new UserError({ message: `model ${name} has no version ${version}` });
      return v;
    }
    const a = alias ?? ALIAS.champion;
    const v = await this.tracker.getVersionByAlias(name, a);
    if (!v) throw new UserError({ message: `model ${name} has no alias "${a}"; set aliases: ${model.aliases.map((x) => `${x.alias}→v${x.version}`).join(', ') || 'none'}` });
    return v;
  }

  /**
   * Downloads a version's files (ONNX, feature list, training config, metrics, lineage) into `destDir`.
   * Returns local paths; optional files that were not registered are left undefined.
   */
  async fetchFiles(v: ModelVersion, destDir: string): Promise<FetchedModel> {
    mkdirSync(destDir, { recursive: true });
    const present = new Set((await this.tracker.listArtifacts(v.runId, 'model')).map((f) => path.posix.basename(f.path)));
    const get = async (rel: string, required: boolean): Promise<string | undefined> => {
      const base = path.posix.basename(rel);
      if (!rel.includes('/') && !present.has(base)) {
        if (required) throw new UserError({ message: `model ${v.name} v${v.version} lacks model/${rel} in tracker run ${v.runId}; re-register it by re-running its pipeline` });
        return undefined;
      }
      const dest = path.join(destDir, ...rel.split('/'));
      if (!existsSync(dest)) {
        try {
          await this.tracker.downloadArtifact(v.runId, `model/${rel}`, dest);
        } catch (err) {
          if (required) throw new UserError({ message: `model ${v.name} v${v.version}: cannot fetch model/${rel}: ${(err as Error).message}` });
          return undefined;
        }
      }
      return dest;
    };
    const manifestPath = await get(MODEL_FILES.manifest, false);
    const manifest = manifestPath ? (JSON.parse(readFileSync(manifestPath, 'utf8')) as { sleeves?: string[] }) : {};
    const sleeves: FetchedModel['sleeves'] = [];
    for (const sl of manifest.sleeves ?? []) {
      sleeves.push({ sleeve: sl, onnx: (await get(`sleeves/${sl}/${MODEL_FILES.onnx}`, true))!, featureList: (await get(`sleeves/${sl}/${MODEL_FILES.featureList}`, true))! });
    }
    return {
      onnx: (await get(MODEL_FILES.onnx, true))!,
      featureList: (await get(MODEL_FILES.featureList, true))!,
      trainingConfig: await get(MODEL_FILES.trainingConfig, false),
      metrics: await get(MODEL_FILES.metrics, false),
      lineage: await get(MODEL_FILES.lineage, false),
      sleeves,
      stacker: sleeves.length ? await get(MODEL_FILES.stacker, true) : undefined,
    };
  }
}

/** Local files of a model version. `sleeves` is empty for single-model versions. */
export interface FetchedModel {
  onnx: string;
  featureList: string;
  trainingConfig?: string;
  metrics?: string;
  lineage?: string;
  sleeves: Array<{ sleeve: string; onnx: string; featureList: string }>;
  stacker?: string;
}

/**
 * Ordered feature names from a feature-list value: an array of names, an array of `{name}` objects,
 * or an object holding one of those under `features`, `feature_names`, `names` or `columns`.
 * Throws a UserError when no list is found.
 */
export function featureNames(value: unknown): string[] {
  if (Array.isArray(value)) {
    if (value.every((x) => typeof x === 'string')) return value as string[];
    if (value.every((x) => x && typeof x === 'object' && typeof (x as { name?: unknown }).name === 'string')) return value.map((x) => (x as { name: string }).name);
  }
  if (value && typeof value === 'object') {
    for (const k of ['feature_names', 'features', 'names', 'columns', 'feature_list']) {
      const inner = (value as Record<string, unknown>)[k];
      if (inner !== undefined) {
        try {
          return featureNames(inner);
        } catch {
          /* try the next key */
        }
      }
    }
  }
  throw new UserError({ message: 'feature list has no ordered feature names (expected an array of names, or {feature_names|features: [...]})' });
}

/** Reads and parses a JSON file's feature names. */
export function readFeatureNames(file: string): string[] {
  return featureNames(JSON.parse(readFileSync(file, 'utf8')));
}
