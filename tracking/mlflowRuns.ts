import { randomUUID } from 'node:crypto';
import { deletedExperimentFix } from './mlflowErrors.ts';
import { REQUEST_ID_TAG, allPages, requestTags, unlessMissing, type Json, type MlflowRest } from './mlflowRest.ts';
import { TrackerError, VALUE_LIMITS, splitBatch, type DatasetInput, type Experiment, type KeyValue, type Metric, type RunData, type RunInfo, type RunStatus, type Tracker } from './types.ts';

/**
 * Experiments, runs, params, metrics and dataset inputs of the MLflow REST tracker
 * (`experiments/*`, `runs/*`, `metrics/get-history`). Remembers each run's artifact URI as it sees
 * it, for the artifact proxy (tracking/mlflowArtifacts.ts).
 */

/** MLflow caps dataset digests at 36 chars; the full digest travels in this input tag. */
const FULL_DIGEST_TAG = 'trademl.digest';

type RunsApi = Pick<Tracker, 'getExperimentByName' | 'getOrCreateExperiment' | 'createRun' | 'updateRun' | 'getRun' | 'searchRuns' | 'logBatch' | 'getMetricHistory' | 'logInputs'>;

export class MlflowRuns implements RunsApi {
  private readonly artifactRoots = new Map<string, string>();

  constructor(private readonly rest: MlflowRest) {}

  async getExperimentByName(name: string): Promise<Experiment | undefined> {
    const r = await unlessMissing(this.rest.call<{ experiment: Json }>('GET', 'experiments/get-by-name', { experiment_name: name }));
    if (!r) return undefined;
    return {
      experimentId: String(r.experiment.experiment_id),
      name: String(r.experiment.name),
      artifactLocation: r.experiment.artifact_location as string | undefined,
      lifecycleStage: r.experiment.lifecycle_stage === 'deleted' ? 'deleted' : 'active',
    };
  }

  /** Id of the active experiment `name`, created when absent. Throws EXPERIMENT_DELETED (with the fix) when it sits in the trash. */
  async getOrCreateExperiment(name: string): Promise<string> {
    const active = (e: Experiment): string => {
      if (e.lifecycleStage === 'deleted') throw new TrackerError(`MLflow experiment "${name}" at ${this.rest.location} is deleted. ${deletedExperimentFix(e.experimentId, name)}`, 'EXPERIMENT_DELETED');
      return e.experimentId;
    };
    const found = await this.getExperimentByName(name);
    if (found) return active(found);
    try {
      const r = await this.rest.call<{ experiment_id: string }>('POST', 'experiments/create', { name });
      return String(r.experiment_id);
    } catch (err) {
      if (err instanceof TrackerError && err.code === 'RESOURCE_ALREADY_EXISTS') {
        const again = await this.getExperimentByName(name);
        if (again) return active(again);
      }
      throw err;
    }
  }

  /** The artifact URI of a run: remembered from any answer that carried the run, else read with getRun. */
  async artifactUri(runId: string): Promise<string> {
    return this.artifactRoots.get(runId) ?? (await this.getRun(runId)).info.artifactUri;
  }

  private runInfo(info: Json): RunInfo {
    const runId = String(info.run_id ?? info.run_uuid);
    const artifactUri = String(info.artifact_uri ?? '');
    if (artifactUri) this.artifactRoots.set(runId, artifactUri);
    return {
      runId,
      experimentId: String(info.experiment_id),
      runName: String(info.run_name ?? runId),
      status: String(info.status ?? 'RUNNING') as RunStatus,
      startTime: Number(info.start_time ?? 0),
      endTime: info.end_time == null ? undefined : Number(info.end_time),
      artifactUri,
    };
  }

  /** Creates a run; idempotent under retries (a lost answer is found by its request-id tag, never created twice). */
  async createRun(opts: { experimentId: string; runName?: string; startTime?: number; tags?: Record<string, string> }): Promise<RunInfo> {
    const requestId = randomUUID();
    const tags = requestTags(requestId, opts.tags);
    const body: Json = { experiment_id: opts.experimentId, start_time: opts.startTime ?? Date.now(), tags: tags.slice(0, 100) };
    if (opts.runName) body.run_name = opts.runName;
    const info = await this.rest.createOnce(
      'runs/create',
      body,
      (r) => this.runInfo((r as { run: { info: Json } }).run.info),
      async () => (await this.searchRuns(opts.experimentId, { [REQUEST_ID_TAG]: requestId }, 1))[0],
    );
    if (tags.length > 100) await this.logBatch(info.runId, { tags: tags.slice(100) });
    return info;
  }

  async updateRun(runId: string, patch: { status: RunStatus; endTime?: number; runName?: string }): Promise<RunInfo> {
    const body: Json = { run_id: runId, status: patch.status };
    if (patch.endTime !== undefined) body.end_time = patch.endTime;
    if (patch.runName !== undefined) body.run_name = patch.runName;
    const r = await this.rest.call<{ run_info: Json }>('POST', 'runs/update', body);
    return this.runInfo(r.run_info);
  }

  async getRun(runId: string): Promise<RunData> {
    const r = await this.rest.call<{ run: { info: Json; data?: Json; inputs?: Json } }>('GET', 'runs/get', { run_id: runId });
    const data = r.run.data ?? {};
    const kv = (list: unknown) => ((list as KeyValue[] | undefined) ?? []).map((x) => ({ key: String(x.key), value: String(x.value) }));
    const inputs = ((r.run.inputs?.dataset_inputs as Json[] | undefined) ?? []).map((di) => {
      const ds = di.dataset as Json;
      const tags = Object.fromEntries(kv(di.tags).map((t) => [t.key, t.value]));
      const full = tags[FULL_DIGEST_TAG];
      delete tags[FULL_DIGEST_TAG];
      return { name: String(ds.name), digest: full ?? String(ds.digest), sourceType: String(ds.source_type), source: String(ds.source), tags };
    });
    return {
      info: this.runInfo(r.run.info),
      metrics: ((data.metrics as Json[] | undefined) ?? []).map(toMetric).sort((a, b) => a.key.localeCompare(b.key)),
      params: kv(data.params).sort((a, b) => a.key.localeCompare(b.key)),
      tags: kv(data.tags)
        .filter((t) => t.key !== REQUEST_ID_TAG)
        .sort((a, b) => a.key.localeCompare(b.key)),
      inputs: inputs.sort((a, b) => a.name.localeCompare(b.name) || a.digest.localeCompare(b.digest)),
    };
  }

  async searchRuns(experimentId: string, tags: Record<string, string>, maxResults = 100): Promise<RunInfo[]> {
    const filter = Object.entries(tags)
      .map(([k, v]) => `tags.\`${k.replace(/`/g, '')}\` = '${v.replace(/'/g, "\\'")}'`)
      .join(' AND ');
    return allPages(
      async (pageToken, count) => {
        const body: Json = { experiment_ids: [experimentId], max_results: Math.min(maxResults - count, 1000), order_by: ['attributes.start_time DESC'] };
        if (filter) body.filter = filter;
        if (pageToken) body.page_token = pageToken;
        const r = await this.rest.call<{ runs?: Array<{ info: Json }>; next_page_token?: string }>('POST', 'runs/search', body);
        return { items: (r.runs ?? []).map((run) => this.runInfo(run.info)), next: r.next_page_token };
      },
      (out) => out.length >= maxResults,
    );
  }

  async logBatch(runId: string, batch: { metrics?: Metric[]; params?: KeyValue[]; tags?: KeyValue[] }): Promise<void> {
    for (const p of batch.params ?? []) if (p.value.length > VALUE_LIMITS.paramValue) throw new TrackerError(`param ${p.key} is ${p.value.length} chars; MLflow's limit is ${VALUE_LIMITS.paramValue}`, 'INVALID_PARAMETER_VALUE');
    for (const m of batch.metrics ?? []) if (typeof m.value !== 'number' || Number.isNaN(m.value)) throw new TrackerError(`metric ${m.key} has a non-numeric value`, 'INVALID_PARAMETER_VALUE');
    for (const chunk of splitBatch(batch)) {
      const body: Json = { run_id: runId };
      if (chunk.metrics.length) {
        body.metrics = chunk.metrics.map((m) => ({
          key: m.key,
          value: Number.isFinite(m.value) ? m.value : m.value > 0 ? Number.MAX_VALUE : -Number.MAX_VALUE,
          timestamp: Math.round(m.timestamp),
          step: Math.round(m.step),
        }));
      }
      if (chunk.params.length) body.params = chunk.params.map((p) => ({ key: p.key, value: p.value }));
      if (chunk.tags.length) body.tags = chunk.tags.map((t) => ({ key: t.key, value: t.value }));
      await this.rest.call('POST', 'runs/log-batch', body);
    }
  }

  async getMetricHistory(runId: string, key: string): Promise<Metric[]> {
    const out = await allPages(async (pageToken) => {
      const q: Json = { run_id: runId, metric_key: key, max_results: 25000 };
      if (pageToken) q.page_token = pageToken;
      const r = await this.rest.call<{ metrics?: Json[]; next_page_token?: string }>('GET', 'metrics/get-history', q);
      return { items: (r.metrics ?? []).map(toMetric), next: r.next_page_token };
    });
    return out.sort((a, b) => a.step - b.step || a.timestamp - b.timestamp);
  }

  async logInputs(runId: string, inputs: DatasetInput[]): Promise<void> {
    for (let i = 0; i < inputs.length; i += 100) {
      const datasets = inputs.slice(i, i + 100).map((d) => ({
        tags: [...Object.entries(d.tags ?? {}).map(([key, value]) => ({ key, value })), { key: FULL_DIGEST_TAG, value: d.digest }],
        dataset: { name: d.name, digest: d.digest.replace(/^sha256:/, '').slice(0, 36), source_type: d.sourceType, source: d.source },
      }));
      await this.rest.call('POST', 'runs/log-inputs', { run_id: runId, datasets });
    }
  }
}

function toMetric(m: Json): Metric {
  return { key: String(m.key), value: Number(m.value), timestamp: Number(m.timestamp ?? 0), step: Number(m.step ?? 0) };
}
