import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ArtifactStore } from '../artifacts/store.ts';
import type { PlanStep } from '../engine/plan.ts';
import type { UpstreamView } from '../engine/upstream.ts';
import { ConfigError } from '../lib/errors.ts';
import { digestJson, sha256 } from '../lib/hash.ts';
import { walkStrings } from '../spec/expressions.ts';
import type { StepOutputs } from '../kinds/types.ts';

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

const cacheDirs = new Set<string>();

/**
 * Step cache: `<artifact store>/cache/<key>.json` holding a step's outputs. A hit is only valid
 * when every artifact its outputs reference is still in the store. Writes are atomic (rename).
 */
export class StepCache {
  private readonly dir: string;

  constructor(private readonly store: ArtifactStore) {
    this.dir = path.join(store.root, 'cache');
    if (!cacheDirs.has(this.dir)) {
      mkdirSync(this.dir, { recursive: true });
      cacheDirs.add(this.dir);
    }
  }

  /** A cached deterministic failure (the kind declared its type in `deterministicFailures`). */
  getFailure(key: string): { message: string; type: string; details?: unknown } | undefined {
    const f = this.file(key);
    if (!existsSync(f)) return undefined;
    try {
      return (JSON.parse(readFileSync(f, 'utf8')) as { failure?: { message: string; type: string; details?: unknown } }).failure;
    } catch {
      return undefined;
    }
  }

  putFailure(key: string, failure: { message: string; type: string; details?: unknown }, meta: Record<string, string>): void {
    const f = this.file(key);
    const tmp = `${f}.${process.pid}.${Date.now()}.partial`;
    writeFileSync(tmp, JSON.stringify({ key, failure, ...meta, at: new Date().toISOString() }));
    renameSync(tmp, f);
  }

  get(key: string): StepOutputs | undefined {
    const f = this.file(key);
    if (!existsSync(f)) return undefined;
    try {
      const entry = JSON.parse(readFileSync(f, 'utf8')) as { outputs?: StepOutputs };
      if (!entry.outputs) return undefined;
      let complete = true;
      walkStrings(entry.outputs, (s) => {
        if (s.startsWith('artifact://') && !this.store.has(s)) complete = false;
      });
      return complete ? entry.outputs : undefined;
    } catch {
      return undefined; // unreadable entry: recompute
    }
  }

  put(key: string, outputs: StepOutputs, meta: Record<string, string>): void {
    const f = this.file(key);
    const tmp = `${f}.${process.pid}.${Date.now()}.partial`;
    writeFileSync(tmp, JSON.stringify({ key, outputs, ...meta, at: new Date().toISOString() }));
    renameSync(tmp, f);
  }

  private file(key: string): string {
    return path.join(this.dir, `${key.replace(/^sha256:/, '')}.json`);
  }
}
