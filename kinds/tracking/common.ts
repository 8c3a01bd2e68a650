import { UserError } from '../../lib/errors.ts';
import type { StepContext } from '../types.ts';

/**
 * The registered model name a tracking step uses: `given` (its `with.model`), else `params.model`,
 * else the pipeline name. Throws a UserError for a name MLflow would refuse.
 */
export function modelName(ctx: Pick<StepContext, 'params' | 'pipeline' | 'uses'>, given: string | undefined): string {
  const m = given ?? (typeof ctx.params.model === 'string' ? ctx.params.model : undefined) ?? ctx.pipeline;
  if (!/^[\w.\-]+$/.test(m)) throw new UserError({ message: `${ctx.uses}: model name "${m}" may only hold letters, digits, '_', '-', '.'` });
  return m;
}
