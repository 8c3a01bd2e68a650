/** The model family whose persistent trial ledger a gate counts: `with.family`, else params.model, else the pipeline. */
export function familyOf(ctx: { params: Record<string, unknown>; pipeline: string }, given: string | undefined): string {
  return given ?? (typeof ctx.params.model === 'string' && ctx.params.model ? ctx.params.model : ctx.pipeline);
}
