import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ArtifactStore } from '../artifacts/store.ts';
import type { PlanStep } from '../engine/plan.ts';
import type { UpstreamView } from '../engine/upstream.ts';
import { ConfigError } from '../lib/errors.ts';
import { digestJson, sha256 } from '../lib/hash.ts';
import { walkStrings } from '../spec/expressions.ts';
import type { StepOutputs } from '../kinds/types.ts';
import { CacheLog, type CacheRecord } from './cache_log.ts';

/**
 * Cache key: sha256 over kind, code version, resolved `with`, the input bindings, upstream outputs
 * (control steps excluded), the content of the config files the kind reads, and the kind's own fingerprint.
 */
/** Digest of what a step consumes: its input bindings and its upstream outputs (control steps excluded). */
export function inputsKeyOf(req: { step: PlanStep; upstream: Record<string, UpstreamView> }): string {
  const upstream: Record<string, string> = {};
  for (const [id, u] of Object.entries(req.upstream)) if (!u.control) upstream[id] = upstreamDigest(u);
  return digestJson({ inputs: req.step.inputs, upstream });
}

export function computeCacheKey(
  req: { step: PlanStep; upstream: Record<string, UpstreamView> },
  version: string,
  withArgs: unknown,
  configFiles: string[],
  projectRoot: string,
  fingerprint?: unknown,
): string {
  const upstream: Record<string, string> = {};
  for (const [id, u] of Object.entries(req.upstream)) {
    // a control step gates execution but feeds no data: who approved and when must not defeat the cache
    if (u.control) continue;
    upstream[id] = upstreamDigest(u);
  }
  const configs: Record<string, string> = {};
  for (const f of configFiles) {
    const p = path.resolve(projectRoot, f);
    if (!existsSync(p)) throw new ConfigError({ message: `step "${req.step.id}": config file ${f} not found (resolved to ${p})`, type: 'ConfigNotFound' });
    configs[f] = sha256(readFileSync(p));
  }
  return digestJson({ uses: req.step.uses, version, with: withArgs, inputs: req.step.inputs, upstream, configs, fingerprint });
}

const digestMemo = new WeakMap<object, string>();

/** Digest of an upstream step's status and outputs, memoised per outputs object (hosts reuse them). */
function upstreamDigest(u: UpstreamView): string {
  const key = `${u.status}:`;
  const memo = digestMemo.get(u.outputs);
  if (memo?.startsWith(key)) return memo.slice(key.length);
  const d = digestJson({ status: u.status, outputs: u.outputs });
  digestMemo.set(u.outputs, key + d);
  return d;
}

/**
 * Step cache under `<artifact store>/cache/`: a step's outputs (or its deterministic failure) by
 * cache key, in one append-only log (executor/cache_log.ts). Entries of earlier versions, a file
 * `<key>.json` each, are still read. A hit is only valid when every artifact its outputs reference
 * is still in the store.
 */
export class StepCache {
  private readonly dir: string;
  private readonly log: CacheLog;

  constructor(private readonly store: ArtifactStore) {
    this.dir = path.join(store.root, 'cache');
    this.log = CacheLog.of(this.dir);
  }

  /** A cached deterministic failure (the kind declared its type in `deterministicFailures`). */
  getFailure(key: string): { message: string; type: string; details?: unknown } | undefined {
    return this.entry(key)?.failure;
  }

  putFailure(key: string, failure: { message: string; type: string; details?: unknown }, meta: Record<string, string>): void {
    this.log.append({ key, failure, ...meta, at: new Date().toISOString() });
  }

  get(key: string): StepOutputs | undefined {
    const outputs = this.entry(key)?.outputs as StepOutputs | undefined;
    if (!outputs) return undefined;
    let complete = true;
    walkStrings(outputs, (s) => {
      if (s.startsWith('artifact://') && !this.store.has(s)) complete = false;
    });
    return complete ? outputs : undefined;
  }

  put(key: string, outputs: StepOutputs, meta: Record<string, string>): void {
    this.log.append({ key, outputs, ...meta, at: new Date().toISOString() });
  }

  /** The log's record of `key`, else an earlier version's `<key>.json` (unreadable: none, recompute). */
  private entry(key: string): CacheRecord | undefined {
    const rec = this.log.get(key);
    if (rec) return rec;
    const f = path.join(this.dir, `${key.replace(/^sha256:/, '')}.json`);
    if (!existsSync(f)) return undefined;
    try {
      return JSON.parse(readFileSync(f, 'utf8')) as CacheRecord;
    } catch {
      return undefined;
    }
  }
}
