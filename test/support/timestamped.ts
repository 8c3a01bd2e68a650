/**
 * Artifacts of the nightly that hold timestamps of their run, by `step.output path`, with the
 * fields that do: they must be equal once those fields are removed; every other artifact is
 * bitwise identical run to run. The trial ledger rows carry `evaluated_at` and `pipeline_run`
 * (the run id, itself a timestamp); the fit metrics also carry the fit's `wall_s`. The ingest manifest
 * records the date bound it applied, `bounds.max_date`, which defaults to the ingest's clock date
 * + `future_days` (data/ingest/ohlcv-rules.ts), so it moves with the day the run happens on.
 */
export const TIMESTAMPED: Record<string, string[]> = {
  'ingest.manifest': ['max_date'],
  'ingest.table.manifest': ['max_date'],
  'fit.model.metrics': ['wall_s', 'evaluated_at', 'pipeline_run'],
  'fit_tb.model.metrics': ['wall_s', 'evaluated_at', 'pipeline_run'],
  'gate.report': ['evaluated_at', 'pipeline_run'],
  'gate.verdict.report': ['evaluated_at', 'pipeline_run'],
};

/** A JSON value without the given keys, at any depth. */
export function without(value: unknown, keys: readonly string[]): unknown {
  if (Array.isArray(value)) return value.map((v) => without(v, keys));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).filter(([k]) => !keys.includes(k)).map(([k, v]) => [k, without(v, keys)]));
  return value;
}

/** Scalar step outputs, by `step.output path`, that are the step's own wall time: never compared. */
export const TIMING_OUTPUTS: readonly string[] = ['rl_train.train_seconds'];
