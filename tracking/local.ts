import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import { ArtifactStore } from '../artifacts/store.ts';
import { LocalDb, checkKey, checkKv, normaliseArtifactPath, rows as dbRows, type Row } from './localDb.ts';
import { writeRuns, type RunRows } from './localWrites.ts';
import { TrackerError, VALUE_LIMITS, validateAlias } from './types.ts';
import type { ArtifactFile, DatasetInput, Experiment, KeyValue, Metric, ModelVersion, RegisteredModel, RunData, RunInfo, RunStatus, RunWrite, Tracker } from './types.ts';

/**
 * The default tracker: DuckDB tables in one file (`stateHome()/tracking.duckdb`, separate from the
 * run-state DB to avoid DuckDB's single-writer file lock) + the content-addressed artifact store for
 * artifact bytes. Calls in a process are serialised; the file stays open only while calls keep
 * coming (closed after 300 ms idle), so the CLI (`trademl models list`) can read it while a run is
 * logging; a lock held by another process is retried with backoff for up to ~10 s.
 */
export class LocalTracker implements Tracker {
  readonly kind = 'local' as const;
  readonly location: string;

  /** @param dbFile DuckDB file path; @param store artifact store for artifact bytes. */
  constructor(
    readonly dbFile: string,
    readonly store: ArtifactStore,
  ) {
    this.location = dbFile;
    this.db = new LocalDb(dbFile);
  }

  private readonly db: LocalDb;

  private withDb<T>(fn: (con: DuckDBConnection) => Promise<T>): Promise<T> {
    return this.db.withDb(fn);
  }

  async getExperimentByName(name: string): Promise<Experiment | undefined> {
    return this.withDb(async (con) => {
      const [r] = await dbRows(con, 'SELECT experiment_id, name FROM experiments WHERE name = $1', [name]);
      return r ? { experimentId: String(r.experiment_id), name: String(r.name) } : undefined;
    });
  }

  async getOrCreateExperiment(name: string): Promise<string> {
    if (!name) throw new TrackerError('experiment name must not be empty', 'INVALID_PARAMETER_VALUE');
    return this.withDb(async (con) => {
      const [r] = await dbRows(con, 'SELECT experiment_id FROM experiments WHERE name = $1', [name]);
      if (r) return String(r.experiment_id);
      const [{ n }] = (await dbRows(con, 'SELECT count(*) AS n FROM experiments')) as [{ n: bigint }];
      const id = String(Number(n) + 1);
      await con.run('INSERT INTO experiments VALUES ($1, $2, $3)', [id, name, Date.now()]);
      return id;
    });
  }

  async createRun(opts: { experimentId: string; runName?: string; startTime?: number; tags?: Record<string, string> }): Promise<RunInfo> {
    const [r] = await this.write([{ run: { create: opts } }]);
    const c = r!.create!;
    return LocalTracker.info({ run_id: r!.runId, experiment_id: c.experimentId, run_name: c.runName, status: c.status, start_time: c.startTime, end_time: c.endTime });
  }

  async logRuns(writes: RunWrite[]): Promise<string[]> {
    return (await this.write(writes)).map((r) => r.runId);
  }

  /**
   * Checks and normalises `writes` (keys, values, NaN metrics, params given twice, artifact paths),
   * stores the artifact bytes (content-addressed: a refused write leaves only unreferenced blobs),
   * then writes every run in one transaction (tracking/localWrites.ts). Throws a TrackerError for a
   * bad value, a missing run or experiment, or a changed param; nothing of the write is kept then.
   */
  private async write(writes: RunWrite[]): Promise<RunRows[]> {
    const runs: RunRows[] = [];
    for (const w of writes) {
      const r = rowsOf(w);
      for (const a of w.artifacts ?? []) {
        const rel = normaliseArtifactPath(a.artifactPath);
        const ref = await this.store.putFile(a.localPath, { name: path.posix.basename(rel), move: false });
        r.artifacts = r.artifacts.filter((x) => x[0] !== rel).concat([[rel, ref.uri, ref.bytes]]);
      }
      runs.push(r);
    }
    await this.withDb(async (con) => {
      for (const r of runs) {
        if (!r.create) await this.requireRunExists(con, r.runId);
        // Experiments are never deleted: each is looked up once per tracker.
        else if (!this.knownExperiments.has(r.create.experimentId)) {
          const [e] = await dbRows(con, 'SELECT 1 FROM experiments WHERE experiment_id = $1', [r.create.experimentId]);
          if (!e) throw new TrackerError(`experiment ${r.create.experimentId} does not exist`, 'RESOURCE_DOES_NOT_EXIST');
          this.knownExperiments.add(r.create.experimentId);
        }
      }
      await writeRuns(con, runs);
      for (const r of runs) this.known.add(r.runId);
    });
    return runs;
  }

  private readonly knownExperiments = new Set<string>();

  async updateRun(runId: string, patch: { status: RunStatus; endTime?: number; runName?: string }): Promise<RunInfo> {
    return this.withDb(async (con) => {
      const args = [runId, patch.status, patch.endTime ?? null, patch.runName ?? null];
      const [r] = await dbRows(con, 'UPDATE runs SET status = $2, end_time = coalesce($3, end_time), run_name = coalesce($4, run_name) WHERE run_id = $1 RETURNING *', args);
      if (!r) throw new TrackerError(`run ${runId} does not exist`, 'RESOURCE_DOES_NOT_EXIST');
      this.known.add(runId);
      return LocalTracker.info(r);
    });
  }

  private async requireRun(con: DuckDBConnection, runId: string): Promise<Row> {
    const [r] = await dbRows(con, 'SELECT * FROM runs WHERE run_id = $1', [runId]);
    if (!r) throw new TrackerError(`run ${runId} does not exist`, 'RESOURCE_DOES_NOT_EXIST');
    this.known.add(runId);
    return r;
  }

  /** Run ids seen to exist: runs are never deleted, so writes look a run up once per tracker. */
  private readonly known = new Set<string>();
  private async requireRunExists(con: DuckDBConnection, runId: string): Promise<void> {
    if (!this.known.has(runId)) await this.requireRun(con, runId);
  }

  private static info(r: Row): RunInfo {
    return {
      runId: String(r.run_id),
      experimentId: String(r.experiment_id),
      runName: String(r.run_name),
      status: String(r.status) as RunStatus,
      startTime: Number(r.start_time),
      endTime: r.end_time == null ? undefined : Number(r.end_time),
      artifactUri: `trademl-local:/${String(r.experiment_id)}/${String(r.run_id)}/artifacts`,
    };
  }

  async getRun(runId: string): Promise<RunData> {
    return this.withDb(async (con) => {
      const r = await this.requireRun(con, runId);
      const metrics = await dbRows(
        con,
        `SELECT key, value, ts, step FROM metrics WHERE run_id = $1
         QUALIFY row_number() OVER (PARTITION BY key ORDER BY step DESC, ts DESC, seq DESC) = 1 ORDER BY key`,
        [runId],
      );
      const params = await dbRows(con, 'SELECT key, value FROM params WHERE run_id = $1 ORDER BY key', [runId]);
      const tags = await dbRows(con, 'SELECT key, value FROM tags WHERE run_id = $1 ORDER BY key', [runId]);
      const inputs = await dbRows(con, 'SELECT * FROM inputs WHERE run_id = $1 ORDER BY name, digest', [runId]);
      return {
        info: LocalTracker.info(r),
        metrics: metrics.map((m) => ({ key: String(m.key), value: Number(m.value), timestamp: Number(m.ts), step: Number(m.step) })),
        params: params.map((p) => ({ key: String(p.key), value: String(p.value) })),
        tags: tags.map((t) => ({ key: String(t.key), value: String(t.value) })),
        inputs: inputs.map((i) => ({
          name: String(i.name),
          digest: String(i.digest),
          sourceType: String(i.source_type),
          source: String(i.source),
          tags: JSON.parse(String(i.tags_json)) as Record<string, string>,
        })),
      };
    });
  }

  async searchRuns(experimentId: string, tags: Record<string, string>, maxResults = 100): Promise<RunInfo[]> {
    return this.withDb(async (con) => {
      const entries = Object.entries(tags);
      const conds = entries.map((_, i) => `EXISTS (SELECT 1 FROM tags t WHERE t.run_id = r.run_id AND t.key = $${2 * i + 2} AND t.value = $${2 * i + 3})`);
      const values: DuckDBValue[] = [experimentId, ...entries.flatMap(([k, v]) => [k, v])];
      const rows = await dbRows(
        con,
        `SELECT * FROM runs r WHERE experiment_id = $1 ${conds.length ? 'AND ' + conds.join(' AND ') : ''} ORDER BY start_time DESC, run_id LIMIT ${Math.max(1, Math.floor(maxResults))}`,
        values,
      );
      return rows.map(LocalTracker.info);
    });
  }

  async logBatch(runId: string, batch: { metrics?: Metric[]; params?: KeyValue[]; tags?: KeyValue[] }): Promise<void> {
    await this.write([{ run: { runId }, ...batch }]);
  }

  async getMetricHistory(runId: string, key: string): Promise<Metric[]> {
    return this.withDb(async (con) => {
      await this.requireRun(con, runId);
      const rows = await dbRows(con, 'SELECT key, value, ts, step FROM metrics WHERE run_id = $1 AND key = $2 ORDER BY step, ts, seq', [runId, key]);
      return rows.map((m) => ({ key: String(m.key), value: Number(m.value), timestamp: Number(m.ts), step: Number(m.step) }));
    });
  }

  async logInputs(runId: string, inputs: DatasetInput[]): Promise<void> {
    await this.write([{ run: { runId }, inputs }]);
  }

  async logArtifact(runId: string, localPath: string, artifactPath: string): Promise<void> {
    await this.write([{ run: { runId }, artifacts: [{ localPath, artifactPath }] }]);
  }

  async downloadArtifact(runId: string, artifactPath: string, destPath: string): Promise<void> {
    const rel = normaliseArtifactPath(artifactPath);
    const uri = await this.withDb(async (con) => {
      await this.requireRun(con, runId);
      const [r] = await dbRows(con, 'SELECT uri FROM artifacts WHERE run_id = $1 AND path = $2', [runId, rel]);
      if (!r) throw new TrackerError(`run ${runId} has no artifact ${rel}`, 'RESOURCE_DOES_NOT_EXIST');
      return String(r.uri);
    });
    mkdirSync(path.dirname(path.resolve(destPath)), { recursive: true });
    copyFileSync(this.store.path(uri), destPath);
  }

  /** Artifact-store URI of a run's artifact (local tracker only; lets steps reference bytes without copying). */
  async artifactUri(runId: string, artifactPath: string): Promise<string | undefined> {
    const rel = normaliseArtifactPath(artifactPath);
    return this.withDb(async (con) => {
      const [r] = await dbRows(con, 'SELECT uri FROM artifacts WHERE run_id = $1 AND path = $2', [runId, rel]);
      return r ? String(r.uri) : undefined;
    });
  }

  async listArtifacts(runId: string, dir = ''): Promise<ArtifactFile[]> {
    const prefix = dir ? normaliseArtifactPath(dir) + '/' : '';
    const rows = await this.withDb(async (con) => {
      await this.requireRun(con, runId);
      return dbRows(con, 'SELECT path, bytes FROM artifacts WHERE run_id = $1 AND starts_with(path, $2) ORDER BY path', [runId, prefix]);
    });
    const seen = new Map<string, ArtifactFile>();
    for (const r of rows) {
      const rest = String(r.path).slice(prefix.length);
      const slash = rest.indexOf('/');
      if (slash < 0) seen.set(rest, { path: prefix + rest, isDir: false, fileSize: Number(r.bytes) });
      else if (!seen.has(rest.slice(0, slash))) seen.set(rest.slice(0, slash), { path: prefix + rest.slice(0, slash), isDir: true });
    }
    return [...seen.values()];
  }

  private static model(r: Row, aliases: Row[]): RegisteredModel {
    return {
      name: String(r.name),
      description: String(r.description),
      creationTimestamp: Number(r.created),
      lastUpdatedTimestamp: Number(r.updated),
      tags: JSON.parse(String(r.tags_json)) as Record<string, string>,
      aliases: aliases.map((a) => ({ alias: String(a.alias), version: String(a.version) })),
    };
  }

  async getRegisteredModel(name: string): Promise<RegisteredModel | undefined> {
    return this.withDb(async (con) => {
      const [r] = await dbRows(con, 'SELECT * FROM registered_models WHERE name = $1', [name]);
      if (!r) return undefined;
      return LocalTracker.model(r, await dbRows(con, 'SELECT alias, version FROM aliases WHERE name = $1 ORDER BY alias', [name]));
    });
  }

  async ensureRegisteredModel(name: string, description = ''): Promise<RegisteredModel> {
    if (!name || !/^[\w.\- /]+$/.test(name)) throw new TrackerError(`invalid model name "${name}"`, 'INVALID_PARAMETER_VALUE');
    await this.withDb(async (con) => {
      const now = Date.now();
      await con.run('INSERT INTO registered_models VALUES ($1, $2, $3, $3, $4) ON CONFLICT DO NOTHING', [name, description, now, '{}']);
    });
    return (await this.getRegisteredModel(name))!;
  }

  async listRegisteredModels(): Promise<RegisteredModel[]> {
    return this.withDb(async (con) => {
      const rows = await dbRows(con, 'SELECT * FROM registered_models ORDER BY name');
      const out: RegisteredModel[] = [];
      for (const r of rows) out.push(LocalTracker.model(r, await dbRows(con, 'SELECT alias, version FROM aliases WHERE name = $1 ORDER BY alias', [String(r.name)])));
      return out;
    });
  }

  private static version(r: Row, aliases: Row[]): ModelVersion {
    return {
      name: String(r.name),
      version: String(r.version),
      source: String(r.source),
      runId: String(r.run_id),
      description: String(r.description),
      creationTimestamp: Number(r.created),
      tags: JSON.parse(String(r.tags_json)) as Record<string, string>,
      aliases: aliases.filter((a) => String(a.version) === String(r.version)).map((a) => String(a.alias)),
    };
  }

  async createModelVersion(opts: { name: string; source: string; runId: string; description?: string; tags?: Record<string, string> }): Promise<ModelVersion> {
    const v = await this.withDb(async (con) => {
      const [m] = await dbRows(con, 'SELECT 1 FROM registered_models WHERE name = $1', [opts.name]);
      if (!m) throw new TrackerError(`registered model ${opts.name} does not exist`, 'RESOURCE_DOES_NOT_EXIST');
      const [{ v }] = (await dbRows(con, 'SELECT coalesce(max(version), 0) + 1 AS v FROM model_versions WHERE name = $1', [opts.name])) as [{ v: number }];
      const now = Date.now();
      await con.run('INSERT INTO model_versions VALUES ($1, $2, $3, $4, $5, $6, $7)', [
        opts.name,
        Number(v),
        opts.source,
        opts.runId,
        opts.description ?? '',
        now,
        JSON.stringify(opts.tags ?? {}),
      ]);
      await con.run('UPDATE registered_models SET updated = $2 WHERE name = $1', [opts.name, now]);
      return String(v);
    });
    return (await this.getModelVersion(opts.name, v))!;
  }

  async getModelVersion(name: string, version: string): Promise<ModelVersion | undefined> {
    if (!/^\d+$/.test(version)) return undefined;
    return this.withDb(async (con) => {
      const [r] = await dbRows(con, 'SELECT * FROM model_versions WHERE name = $1 AND version = $2', [name, Number(version)]);
      if (!r) return undefined;
      return LocalTracker.version(r, await dbRows(con, 'SELECT alias, version FROM aliases WHERE name = $1', [name]));
    });
  }

  async listModelVersions(name: string): Promise<ModelVersion[]> {
    return this.withDb(async (con) => {
      const rows = await dbRows(con, 'SELECT * FROM model_versions WHERE name = $1 ORDER BY version DESC', [name]);
      const aliases = await dbRows(con, 'SELECT alias, version FROM aliases WHERE name = $1', [name]);
      return rows.map((r) => LocalTracker.version(r, aliases));
    });
  }

  async setModelVersionTag(name: string, version: string, key: string, value: string): Promise<void> {
    checkKv({ key, value }, VALUE_LIMITS.tagValue, 'tag');
    await this.withDb(async (con) => {
      const [r] = await dbRows(con, 'SELECT tags_json FROM model_versions WHERE name = $1 AND version = $2', [name, Number(version)]);
      if (!r) throw new TrackerError(`model version ${name}/${version} does not exist`, 'RESOURCE_DOES_NOT_EXIST');
      const tags = JSON.parse(String(r.tags_json)) as Record<string, string>;
      tags[key] = value;
      await con.run('UPDATE model_versions SET tags_json = $3 WHERE name = $1 AND version = $2', [name, Number(version), JSON.stringify(tags)]);
    });
  }

  async setAlias(name: string, alias: string, version: string): Promise<void> {
    validateAlias(alias);
    await this.withDb(async (con) => {
      const [r] = await dbRows(con, 'SELECT 1 FROM model_versions WHERE name = $1 AND version = $2', [name, Number(version)]);
      if (!r) throw new TrackerError(`model version ${name}/${version} does not exist`, 'RESOURCE_DOES_NOT_EXIST');
      await con.run('INSERT OR REPLACE INTO aliases VALUES ($1, $2, $3)', [name, alias, Number(version)]);
      await con.run('UPDATE registered_models SET updated = $2 WHERE name = $1', [name, Date.now()]);
    });
  }

  async getVersionByAlias(name: string, alias: string): Promise<ModelVersion | undefined> {
    const v = await this.withDb(async (con) => {
      const [r] = await dbRows(con, 'SELECT version FROM aliases WHERE name = $1 AND alias = $2', [name, alias]);
      return r ? String(r.version) : undefined;
    });
    return v ? this.getModelVersion(name, v) : undefined;
  }

  async deleteAlias(name: string, alias: string): Promise<void> {
    await this.withDb(async (con) => {
      await con.run('DELETE FROM aliases WHERE name = $1 AND alias = $2', [name, alias]);
    });
  }

  /** Waits for queued calls and closes the file now (releasing DuckDB's lock). */
  async close(): Promise<void> {
    await this.db.close();
  }
}

/**
 * The rows of one write, checked as MLflow would check them: keys, string values within MLflow's
 * lengths, numeric non-NaN metrics, no param given twice with two values (the last value of a tag
 * given twice wins, as with one call per tag), inputs unique by (name, digest). Artifacts are added
 * by the caller once stored. Throws a TrackerError.
 */
function rowsOf(w: RunWrite): RunRows {
  for (const m of w.metrics ?? []) {
    checkKey(m.key);
    if (typeof m.value !== 'number' || Number.isNaN(m.value)) throw new TrackerError(`metric ${m.key} has a non-numeric value`, 'INVALID_PARAMETER_VALUE');
  }
  for (const p of w.params ?? []) checkKv(p, VALUE_LIMITS.paramValue, 'param');
  const created = 'create' in w.run ? w.run.create : undefined;
  const tagList = [...Object.entries(created?.tags ?? {}).map(([key, value]) => ({ key, value })), ...(w.tags ?? [])];
  for (const t of tagList) checkKv(t, VALUE_LIMITS.tagValue, 'tag');
  const params = new Map<string, string>();
  for (const p of w.params ?? []) {
    const old = params.get(p.key);
    if (old !== undefined && old !== p.value) throw new TrackerError(`param "${p.key}" is given twice in one batch ("${old}", "${p.value}"); params are immutable`, 'INVALID_PARAMETER_VALUE');
    params.set(p.key, p.value);
  }
  const inputs = new Map((w.inputs ?? []).map((i) => [`${i.name}\0${i.digest}`, [i.name, i.digest, i.sourceType, i.source, JSON.stringify(i.tags ?? {})] as DuckDBValue[]]));
  const end = w.end ? { status: w.end.status, endTime: w.end.endTime ?? null } : undefined;
  const runId = 'runId' in w.run ? w.run.runId : randomUUID().replace(/-/g, '');
  const create = created && {
    experimentId: created.experimentId,
    runName: created.runName ?? runId,
    status: end?.status ?? ('RUNNING' as RunStatus),
    startTime: created.startTime ?? Date.now(),
    endTime: end?.endTime ?? null,
  };
  return { runId, ...(create ? { create } : {}), ...(end && !create ? { end } : {}), params, tags: new Map(tagList.map((t) => [t.key, t.value])), metrics: w.metrics ?? [], inputs: [...inputs.values()], artifacts: [] };
}

export { normaliseArtifactPath } from './localDb.ts';
