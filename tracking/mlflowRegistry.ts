import { randomUUID } from 'node:crypto';
import { REQUEST_ID_TAG, allPages, requestTags, unlessMissing, type Json, type MlflowRest } from './mlflowRest.ts';
import { TrackerError, validateAlias, type KeyValue, type ModelVersion, type RegisteredModel, type Tracker } from './types.ts';

/**
 * The model registry of the MLflow REST tracker (`registered-models/*`, `model-versions/*`):
 * registered models, versions (created idempotently under retries), version tags and aliases
 * (champion, challenger, previous-champion: tracking/registry.ts decides which goes where).
 */

type RegistryApi = Pick<
  Tracker,
  'getRegisteredModel' | 'ensureRegisteredModel' | 'listRegisteredModels' | 'createModelVersion' | 'getModelVersion' | 'listModelVersions' | 'setModelVersionTag' | 'setAlias' | 'getVersionByAlias' | 'deleteAlias'
>;

function toModel(m: Json): RegisteredModel {
  return {
    name: String(m.name),
    description: String(m.description ?? ''),
    creationTimestamp: Number(m.creation_timestamp ?? 0),
    lastUpdatedTimestamp: Number(m.last_updated_timestamp ?? 0),
    tags: Object.fromEntries(((m.tags as KeyValue[] | undefined) ?? []).map((t) => [t.key, t.value])),
    aliases: ((m.aliases as Array<{ alias: string; version: string }> | undefined) ?? [])
      .map((a) => ({ alias: String(a.alias), version: String(a.version) }))
      .sort((a, b) => a.alias.localeCompare(b.alias)),
  };
}

function toVersion(v: Json): ModelVersion {
  return {
    name: String(v.name),
    version: String(v.version),
    source: String(v.source ?? ''),
    runId: String(v.run_id ?? ''),
    description: String(v.description ?? ''),
    creationTimestamp: Number(v.creation_timestamp ?? 0),
    tags: Object.fromEntries(((v.tags as KeyValue[] | undefined) ?? []).filter((t) => t.key !== REQUEST_ID_TAG).map((t) => [t.key, t.value])),
    aliases: ((v.aliases as string[] | undefined) ?? []).map(String).sort(),
  };
}

/** A search filter on the model name (quotes escaped). */
const byName = (name: string): string => `name='${name.replace(/'/g, "\\'")}'`;

export class MlflowRegistry implements RegistryApi {
  constructor(private readonly rest: MlflowRest) {}

  async getRegisteredModel(name: string): Promise<RegisteredModel | undefined> {
    const r = await unlessMissing(this.rest.call<{ registered_model: Json }>('GET', 'registered-models/get', { name }));
    return r && toModel(r.registered_model);
  }

  async ensureRegisteredModel(name: string, description = ''): Promise<RegisteredModel> {
    const found = await this.getRegisteredModel(name);
    if (found) return found;
    try {
      const body: Json = { name };
      if (description) body.description = description;
      const r = await this.rest.call<{ registered_model: Json }>('POST', 'registered-models/create', body);
      return toModel(r.registered_model);
    } catch (err) {
      if (err instanceof TrackerError && err.code === 'RESOURCE_ALREADY_EXISTS') return (await this.getRegisteredModel(name))!;
      throw err;
    }
  }

  async listRegisteredModels(): Promise<RegisteredModel[]> {
    const out = await allPages(async (pageToken) => {
      const q: Json = { max_results: 1000 };
      if (pageToken) q.page_token = pageToken;
      const r = await this.rest.call<{ registered_models?: Json[]; next_page_token?: string }>('GET', 'registered-models/search', q);
      return { items: (r.registered_models ?? []).map(toModel), next: r.next_page_token };
    });
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Creates a model version; idempotent under retries (a lost answer is found by its request-id tag, never registered twice). */
  async createModelVersion(opts: { name: string; source: string; runId: string; description?: string; tags?: Record<string, string> }): Promise<ModelVersion> {
    const requestId = randomUUID();
    const body: Json = { name: opts.name, source: opts.source, run_id: opts.runId };
    if (opts.description) body.description = opts.description;
    body.tags = requestTags(requestId, opts.tags);
    return this.rest.createOnce(
      'model-versions/create',
      body,
      (r) => toVersion((r as { model_version: Json }).model_version),
      async () => {
        const q = { filter: `${byName(opts.name)} AND tags.\`${REQUEST_ID_TAG}\` = '${requestId}'`, max_results: 10 };
        const r = await this.rest.call<{ model_versions?: Json[] }>('GET', 'model-versions/search', q);
        const v = r.model_versions?.[0];
        return v ? toVersion(v) : undefined;
      },
    );
  }

  async getModelVersion(name: string, version: string): Promise<ModelVersion | undefined> {
    const r = await unlessMissing(this.rest.call<{ model_version: Json }>('GET', 'model-versions/get', { name, version }));
    return r && toVersion(r.model_version);
  }

  async listModelVersions(name: string): Promise<ModelVersion[]> {
    const out = await allPages(async (pageToken) => {
      const q: Json = { filter: byName(name), max_results: 1000 };
      if (pageToken) q.page_token = pageToken;
      const r = await this.rest.call<{ model_versions?: Json[]; next_page_token?: string }>('GET', 'model-versions/search', q);
      return { items: (r.model_versions ?? []).map(toVersion), next: r.next_page_token };
    });
    // search results may omit aliases; fill them from the registered model.
    const model = await this.getRegisteredModel(name);
    for (const v of out) v.aliases = (model?.aliases ?? []).filter((a) => a.version === v.version).map((a) => a.alias).sort();
    return out.sort((a, b) => Number(b.version) - Number(a.version));
  }

  async setModelVersionTag(name: string, version: string, key: string, value: string): Promise<void> {
    await this.rest.call('POST', 'model-versions/set-tag', { name, version, key, value });
  }

  async setAlias(name: string, alias: string, version: string): Promise<void> {
    validateAlias(alias);
    await this.rest.call('POST', 'registered-models/alias', { name, alias, version });
  }

  async getVersionByAlias(name: string, alias: string): Promise<ModelVersion | undefined> {
    try {
      const r = await unlessMissing(this.rest.call<{ model_version: Json }>('GET', 'registered-models/alias', { name, alias }));
      return r && toVersion(r.model_version);
    } catch (err) {
      // MLflow answers an unset alias with RESOURCE_DOES_NOT_EXIST, or (SQL store) INVALID_PARAMETER_VALUE "... alias ... not found".
      if (err instanceof TrackerError && err.code === 'INVALID_PARAMETER_VALUE' && /not found/i.test(err.message)) return undefined;
      throw err;
    }
  }

  async deleteAlias(name: string, alias: string): Promise<void> {
    await unlessMissing(this.rest.call('DELETE', 'registered-models/alias', { name, alias }));
  }
}
