import type { ArtifactRef } from '../../artifacts/store.ts';
import { StepError } from '../../lib/errors.ts';
import type { StepContext } from '../types.ts';
import type { BookSources } from '../../rl/book.ts';

function isRef(v: unknown): v is ArtifactRef {
  return !!v && typeof v === 'object' && typeof (v as ArtifactRef).uri === 'string' && (v as ArtifactRef).uri.startsWith('artifact://');
}

/**
 * The outputs of the nearest succeeded ancestor of kind `uses` (by producing kind, never step id;
 * when several exist, the lexicographically first step id, so the choice is deterministic).
 */
export function ancestorOutputs(ctx: StepContext, uses: string): { stepId: string; outputs: Record<string, unknown> } | undefined {
  const ids = Object.keys(ctx.ancestors)
    .filter((id) => ctx.ancestors[id]!.uses === uses && ctx.ancestors[id]!.status === 'succeeded')
    .sort();
  const id = ids[0];
  return id === undefined ? undefined : { stepId: id, outputs: ctx.ancestors[id]!.outputs };
}

/** Artifact `key` of the first succeeded ancestor among `kinds` (in order), or undefined. */
export function ancestorArtifact(ctx: StepContext, kinds: [uses: string, key: string][]): ArtifactRef | undefined {
  for (const [uses, key] of kinds) {
    const a = ancestorOutputs(ctx, uses);
    const v = a?.outputs[key];
    if (isRef(v)) return v;
  }
  return undefined;
}

/**
 * Local paths of the baseline-book inputs (docs/contracts.md): `portfolio.build` weights and
 * `qc.audit` curated OHLCV (or `ingest.ohlcv` table) are required; `stack.oof` oof and
 * `backtest.cpcv_paths` returns are optional. Throws a non-retryable StepError naming what is missing.
 */
export function bookSources(ctx: StepContext, step: string): BookSources {
  const weights = ancestorArtifact(ctx, [['portfolio.build', 'weights']]);
  const ohlcv = ancestorArtifact(ctx, [['qc.audit', 'curated'], ['ingest.ohlcv', 'table']]);
  const missing = [!weights && 'portfolio.build → weights', !ohlcv && 'qc.audit → curated (or ingest.ohlcv → table)'].filter(Boolean);
  if (missing.length) {
    throw new StepError({ message: `${step}: needs upstream ${missing.join(' and ')} among its ancestors (add them to needs:)`, type: 'RlInputError', nonRetryable: true });
  }
  const oof = ancestorArtifact(ctx, [['stack.oof', 'oof']]);
  const returns = ancestorArtifact(ctx, [['backtest.cpcv_paths', 'returns']]);
  return {
    weights: ctx.artifacts.path(weights!),
    ohlcv: ctx.artifacts.path(ohlcv!),
    oof: oof ? ctx.artifacts.path(oof) : undefined,
    returns: returns ? ctx.artifacts.path(returns) : undefined,
  };
}
