/**
 * The executor: runs one attempt of one step. Both hosts call it (the embedded runtime in-process,
 * the Temporal activity on a worker), so interpolation, validation, input binding, caching and
 * the per-attempt timeout behave the same everywhere.
 */
import { mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ArtifactStore } from '../artifacts/store.ts';
import type { PlanStep } from '../engine/plan.ts';
import type { UpstreamView } from '../engine/upstream.ts';
import { CachedStepFailure, InputError, StepError, StepTimeout, errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import { interpolate, pick, walkStrings } from '../spec/expressions.ts';
import { getStepKind } from '../kinds/registry.ts';
import type { StepContext, StepOutputs, StepProgress } from '../kinds/types.ts';
import { StepCache, computeCacheKey, inputsKeyOf } from './cache.ts';
import { inputApi } from './inputs.ts';

/** What a host asks the executor to run: one attempt of one step. JSON-serialisable (Temporal payload). */
export interface ExecuteRequest {
  runId: string;
  pipeline: string;
  step: PlanStep;
  params: Record<string, unknown>;
  /** 1-based attempt number. */
  attempt: number;
  /** Every transitive upstream step (id → kind, status, outputs, error, provided contracts). */
  upstream: Record<string, UpstreamView>;
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
 * kind's schema, computes the cache key (executor/cache.ts), returns the cached outputs when
 * present, else runs the kind with its inputs bound (executor/inputs.ts) under a per-attempt
 * timeout, validates and caches the outputs. Throws InputError (bad references, `with`, inputs or
 * outputs: never retried), StepTimeout, or whatever the kind throws.
 */
export async function executeStep(req: ExecuteRequest, env: ExecuteEnv): Promise<ExecuteResult> {
  const t0 = Date.now();
  const kind = getStepKind(req.step.uses);
  const w = resolveWith(req);
  const parsed = kind.with.safeParse(w);
  if (!parsed.success) {
    const msgs = parsed.error.issues.map((i) => `with.${i.path.join('.')}: ${i.message}`).join('; ');
    throw new InputError({ message: `step "${req.step.id}" (${req.step.uses}): invalid with after interpolation: ${msgs}`, type: 'InvalidWith' });
  }
  const withArgs = parsed.data;
  const inputsKey = inputsKeyOf(req);
  const fingerprint = await kind.fingerprint?.(withArgs, { projectRoot: env.projectRoot, dataRoot: env.dataRoot, home: env.home, artifacts: env.artifacts, inputsKey, pipeline: req.pipeline, params: req.params });
  const cacheKey = computeCacheKey(req, kind.version, withArgs, kind.configFiles?.(withArgs) ?? [], env.projectRoot, fingerprint);
  const cache = new StepCache(env.artifacts);
  if (req.step.cache && !req.force) {
    const failure = cache.getFailure(cacheKey);
    if (failure) throw new CachedStepFailure(failure);
    const hit = cache.get(cacheKey);
    if (hit) return { outputs: hit, cacheHit: true, cacheKey, durationMs: Date.now() - t0, resolvedWith: withArgs };
  }

  const scratch = scratchDir(req);
  const ac = new AbortController();
  const onAbort = () => ac.abort(env.signal.reason);
  env.signal.addEventListener('abort', onAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  try {
    await env.artifacts.materialize(artifactUris(req.upstream)); // S3 store: fetch upstream artifacts this host lacks, so path() works
    const ctx: StepContext = {
      runId: req.runId,
      pipeline: req.pipeline,
      stepId: req.step.id,
      uses: req.step.uses,
      attempt: req.attempt,
      params: req.params,
      inputsKey,
      ...inputApi(req.step, kind.consumes ?? {}, req.upstream),
      ancestors: req.upstream,
      artifacts: env.artifacts,
      home: env.home,
      get workDir() {
        return scratch.get();
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
        reject(new StepTimeout(`step "${req.step.id}" timed out after ${req.step.timeout_ms} ms (attempt ${req.attempt})`));
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
      throw new InputError({ message: `step kind ${req.step.uses} returned outputs that break its contract: ${msgs}`, type: 'InvalidOutputs' });
    }
    const outputs = out.data as StepOutputs;
    cache.put(cacheKey, outputs, { step: req.step.id, uses: req.step.uses, run: req.runId });
    return { outputs, cacheHit: false, cacheKey, durationMs: Date.now() - t0, resolvedWith: withArgs };
  } finally {
    clearTimeout(timer);
    env.signal.removeEventListener('abort', onAbort);
    scratch.remove();
  }
}

/** The attempt's scratch folder, created on first use (most steps never need one). */
function scratchDir(req: ExecuteRequest): { get(): string; remove(): void } {
  const dir = path.join(os.tmpdir(), 'trademl-work', `${req.runId}-${req.step.id}-${req.attempt}-${process.pid}`);
  let made = false;
  return {
    get() {
      if (!made) {
        rmSync(dir, { recursive: true, force: true });
        mkdirSync(dir, { recursive: true });
        made = true;
      }
      return dir;
    },
    remove() {
      if (made) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `with` with `${{ steps.<id>.outputs.<name> }}` replaced by upstream outputs. */
export function resolveWith(req: Pick<ExecuteRequest, 'step' | 'upstream'>): unknown {
  return interpolate(
    req.step.with,
    (ref, body) => {
      if (ref.kind !== 'output') return undefined;
      const up = req.upstream[ref.step];
      if (!up || up.status !== 'succeeded') {
        throw new InputError({ message: `step "${req.step.id}": \${{ ${body} }} cannot be resolved: step "${ref.step}" has no outputs (${up?.status ?? 'not upstream'})`, type: 'UnresolvedReference' });
      }
      try {
        return pick(up.outputs, [ref.output, ...ref.path], `steps.${ref.step}.outputs`);
      } catch (e) {
        throw new InputError({ message: `step "${req.step.id}": cannot resolve \${{ ${body} }}: ${errorMessage(e)}`, type: 'UnresolvedReference' });
      }
    },
    'output',
  );
}

export { StepCache, computeCacheKey } from './cache.ts';
/** Every `artifact://` URI in a value (for prefetching inputs). */
export function artifactUris(v: unknown): string[] {
  const out = new Set<string>();
  walkStrings(v, (s) => {
    if (s.startsWith('artifact://')) out.add(s);
  });
  return [...out];
}
