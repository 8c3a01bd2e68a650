import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ArtifactStore } from '../artifacts/store.ts';
import type { PlanStep } from '../engine/plan.ts';
import { CachedStepFailure, StepError, errorMessage } from '../lib/errors.ts';
import { digestJson, sha256 } from '../lib/hash.ts';
import type { Logger } from '../lib/log.ts';
import { interpolate, pick, walkStrings } from '../spec/expressions.ts';
import { getStepKind } from '../kinds/registry.ts';
import type { StepContext, StepOutputs, StepProgress, UpstreamStep } from '../kinds/types.ts';

/** What a host asks the executor to run: one attempt of one step. JSON-serialisable (Temporal payload). */
export interface ExecuteRequest {
  runId: string;
  pipeline: string;
  step: PlanStep;
  params: Record<string, unknown>;
  /** 1-based attempt number. */
  attempt: number;
  /** Every transitive upstream step (id → kind, status, outputs, error). */
  upstream: Record<string, UpstreamStep>;
  /** Run even when a cache entry exists (operator retry, `--no-cache`). */
  force?: boolean;
}

/** Small JSON result of an attempt. */
export interface ExecuteResult {
  outputs: StepOutputs;
  cacheHit: boolean;
  cacheKey: string;
  durationMs: number;
  /** The `with` after interpolation and schema defaults (logged as run params). */
  resolvedWith: unknown;
}

/** Host services the executor needs. */
export interface ExecuteEnv {
  artifacts: ArtifactStore;
  /** State folder of the host (the artifact store is `<home>/artifacts`). */
  home: string;
  log: Logger;
  progress: (p: StepProgress) => void;
  signal: AbortSignal;
  projectRoot: string;
  dataRoot: string;
}

/**
 * Runs one attempt of a step: resolves `${{ steps.* }}` references, validates `with` against the
 * kind's schema, computes the cache key (kind + code version, resolved `with`, upstream output
 * digests, content of config files the kind reads), returns the cached outputs when present, else
 * runs the kind with a per-attempt timeout and stores the validated outputs in the cache.
 * Throws StepError (non-retryable for bad references/with/outputs; type `Timeout` on timeout).
 */
export async function executeStep(req: ExecuteRequest, env: ExecuteEnv): Promise<ExecuteResult> {
  const t0 = Date.now();
  const kind = getStepKind(req.step.uses);
  const w = resolveWith(req);
  const parsed = kind.with.safeParse(w);
  if (!parsed.success) {
    const msgs = parsed.error.issues.map((i) => `with.${i.path.join('.')}: ${i.message}`).join('; ');
    throw new StepError({ message: `step "${req.step.id}" (${req.step.uses}): invalid with after interpolation: ${msgs}`, type: 'InvalidWith', nonRetryable: true });
  }
  const withArgs = parsed.data;
  const fingerprint = kind.fingerprint?.(withArgs, { projectRoot: env.projectRoot, dataRoot: env.dataRoot });
  const cacheKey = computeCacheKey(req, kind.version, withArgs, kind.configFiles?.(withArgs) ?? [], env.projectRoot, fingerprint);
  const cache = new StepCache(env.artifacts);
  if (req.step.cache && !req.force) {
    const failure = cache.getFailure(cacheKey);
    if (failure) throw new CachedStepFailure(failure);
    const hit = cache.get(cacheKey);
    if (hit) return { outputs: hit, cacheHit: true, cacheKey, durationMs: Date.now() - t0, resolvedWith: withArgs };
  }

  const workDir = path.join(os.tmpdir(), 'trademl-work', `${req.runId}-${req.step.id}-${req.attempt}-${process.pid}`);
  let workDirMade = false;
  const ac = new AbortController();
  const onAbort = () => ac.abort(env.signal.reason);
  env.signal.addEventListener('abort', onAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  try {
    const ancestors: Record<string, UpstreamStep> = req.upstream;
    const inputs: Record<string, StepOutputs> = {};
    for (const n of req.step.needs) inputs[n] = req.upstream[n]?.outputs ?? {};
    const ctx: StepContext = {
      runId: req.runId,
      pipeline: req.pipeline,
      stepId: req.step.id,
      uses: req.step.uses,
      attempt: req.attempt,
      params: req.params,
      inputs,
      ancestors,
      artifacts: env.artifacts,
      home: env.home,
      // created on first use: most steps never need scratch space
      get workDir() {
        if (!workDirMade) {
          rmSync(workDir, { recursive: true, force: true });
          mkdirSync(workDir, { recursive: true });
          workDirMade = true;
        }
        return workDir;
      },
      projectRoot: env.projectRoot,
      dataRoot: env.dataRoot,
      log: env.log,
      progress: env.progress,
      signal: ac.signal,
    };
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        ac.abort(new Error('timeout'));
        reject(new StepError({ message: `step "${req.step.id}" timed out after ${req.step.timeout_ms} ms (attempt ${req.attempt})`, type: 'Timeout' }));
      }, req.step.timeout_ms);
    });
    let raw: unknown;
    try {
      raw = await Promise.race([kind.run(ctx, withArgs), timeout]);
    } catch (e) {
      if (e instanceof StepError && kind.deterministicFailures?.includes(e.type)) {
        cache.putFailure(cacheKey, { message: e.message, type: e.type, details: e.details }, { step: req.step.id, uses: req.step.uses, run: req.runId });
      }
      throw e;
    }
    const out = kind.outputs.safeParse(raw);
    if (!out.success) {
      const msgs = out.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      throw new StepError({ message: `step kind ${req.step.uses} returned outputs that break its contract: ${msgs}`, type: 'InvalidOutputs', nonRetryable: true });
    }
    const outputs = out.data as StepOutputs;
    cache.put(cacheKey, outputs, { step: req.step.id, uses: req.step.uses, run: req.runId });
    return { outputs, cacheHit: false, cacheKey, durationMs: Date.now() - t0, resolvedWith: withArgs };
  } finally {
    clearTimeout(timer);
    env.signal.removeEventListener('abort', onAbort);
    if (workDirMade) rmSync(workDir, { recursive: true, force: true });
  }
}

/** `with` with `${{ steps.<id>.outputs.<name> }}` replaced by upstream outputs. */
export function resolveWith(req: Pick<ExecuteRequest, 'step' | 'upstream'>): unknown {
  return interpolate(
    req.step.with,
    (ref, body) => {
      if (ref.kind !== 'output') return undefined;
      const up = req.upstream[ref.step];
      if (!up || up.status !== 'succeeded') {
        throw new StepError({ message: `step "${req.step.id}": \${{ ${body} }} cannot be resolved: step "${ref.step}" has no outputs (${up?.status ?? 'not upstream'})`, type: 'UnresolvedReference', nonRetryable: true });
      }
      try {
        return pick(up.outputs, [ref.output, ...ref.path], `steps.${ref.step}.outputs`);
      } catch (e) {
        throw new StepError({ message: `step "${req.step.id}": cannot resolve \${{ ${body} }}: ${errorMessage(e)}`, type: 'UnresolvedReference', nonRetryable: true });
      }
    },
    'output',
  );
}

/**
 * Cache key: sha256 over kind, code version, resolved `with`, upstream outputs (approval decisions
 * excluded), the content of the config files the kind reads, and the kind's own fingerprint.
 */
export function computeCacheKey(
  req: Pick<ExecuteRequest, 'step' | 'upstream'>,
  version: string,
  withArgs: unknown,
  configFiles: string[],
  projectRoot: string,
  fingerprint?: unknown,
): string {
  const upstream: Record<string, string> = {};
  for (const [id, u] of Object.entries(req.upstream)) {
    // an approval gates execution but feeds no data: who approved and when must not defeat the cache
    if (u.uses === 'approval') continue;
    upstream[id] = upstreamDigest(u);
  }
  const configs: Record<string, string> = {};
  for (const f of configFiles) {
    const p = path.resolve(projectRoot, f);
    if (!existsSync(p)) throw new StepError({ message: `step "${req.step.id}": config file ${f} not found (resolved to ${p})`, type: 'ConfigNotFound', nonRetryable: true });
    configs[f] = sha256(readFileSync(p));
  }
  return digestJson({ uses: req.step.uses, version, with: withArgs, upstream, configs, fingerprint });
}

const digestMemo = new WeakMap<object, string>();

/** Digest of an upstream step's status and outputs, memoised per outputs object (hosts reuse them). */
function upstreamDigest(u: UpstreamStep): string {
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
