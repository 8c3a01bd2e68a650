import { UserError } from '../lib/errors.ts';
import { contractId } from '../contracts/define.ts';
import type { AnyStepKind } from './types.ts';
import { kinds as builtin } from './builtin/index.ts';
import { kinds as data } from './data/index.ts';
import { kinds as features } from './features/index.ts';
import { kinds as fit } from './fit/index.ts';
import { kinds as backtest } from './backtest/index.ts';
import { kinds as rl } from './rl/index.ts';
import { kinds as tracking } from './tracking/index.ts';
import { kinds as execution } from './execution/index.ts';
import { kinds as options } from './options/index.ts';

/** Every step kind `pipelines.yaml` may use, by its `uses:` name. One module per concern. */
export const STEP_KINDS: ReadonlyMap<string, AnyStepKind> = buildRegistry([
  ...builtin,
  ...data,
  ...features,
  ...fit,
  ...backtest,
  ...rl,
  ...tracking,
  ...execution,
  ...options,
]);

/**
 * Builds the registry and checks every kind's declarations: unique `uses`, every provided output
 * key present in the outputs schema, control kinds without provided outputs.
 */
export function buildRegistry(list: readonly AnyStepKind[]): Map<string, AnyStepKind> {
  const map = new Map<string, AnyStepKind>();
  for (const k of list) {
    if (map.has(k.uses)) throw new Error(`step kind ${k.uses} is registered twice`);
    const shape = (k.outputs as unknown as { shape?: Record<string, unknown> }).shape;
    for (const [key, c] of Object.entries(k.provides ?? {})) {
      if (!shape || !(key in shape)) throw new Error(`step kind ${k.uses} provides ${contractId(c)} as output "${key}", which its outputs schema lacks`);
    }
    map.set(k.uses, k);
  }
  return map;
}

/** The kind registered as `uses`; throws a UserError listing the known kinds otherwise. */
export function getStepKind(uses: string): AnyStepKind {
  const k = STEP_KINDS.get(uses);
  if (!k) throw new UserError(`unknown step kind "${uses}"; known kinds: ${[...STEP_KINDS.keys()].sort().join(', ')}`);
  return k;
}
