import { UserError } from '../lib/errors.ts';
import type { StepKind } from './types.ts';
import { kinds as builtin } from './builtin/index.ts';
import { kinds as data } from './data/index.ts';
import { kinds as features } from './features/index.ts';
import { kinds as fit } from './fit/index.ts';
import { kinds as backtest } from './backtest/index.ts';
import { kinds as rl } from './rl/index.ts';
import { kinds as tracking } from './tracking/index.ts';

/** Every step kind `pipelines.yaml` may use, by its `uses:` name. One module per concern. */
export const STEP_KINDS: ReadonlyMap<string, StepKind> = buildRegistry([
  ...builtin,
  ...data,
  ...features,
  ...fit,
  ...backtest,
  ...rl,
  ...tracking,
]);

function buildRegistry(list: StepKind[]): Map<string, StepKind> {
  const map = new Map<string, StepKind>();
  for (const k of list) {
    if (map.has(k.uses)) throw new Error(`step kind ${k.uses} is registered twice`);
    map.set(k.uses, k);
  }
  return map;
}

/** The kind registered as `uses`; throws a UserError listing the known kinds otherwise. */
export function getStepKind(uses: string): StepKind {
  const k = STEP_KINDS.get(uses);
  if (!k) throw new UserError(`unknown step kind "${uses}"; known kinds: ${[...STEP_KINDS.keys()].sort().join(', ')}`);
  return k;
}
