import { DataQualityError } from '../lib/errors.ts';
import type { StepContext } from '../kinds/types.ts';

/** Shape of the fields of a `qc.audit` output this guard reads. */
interface AuditOutputs {
  status?: 'GREEN' | 'AMBER' | 'RED';
  dataset?: string;
  red_dates?: string[];
  red_reasons?: { rule: string; count: number }[];
}

/**
 * Refuses to train on RED data: throws a non-retryable DataQualityError when any upstream
 * `qc.audit` step (transitively) reported status RED, naming the dataset, the RED dates and
 * the rules that made them RED with their counts. Call it first thing in every training step.
 */
export function assertAuditsNotRed(ctx: StepContext): void {
  for (const [id, up] of Object.entries(ctx.ancestors)) {
    if (up.uses !== 'qc.audit') continue;
    const a = up.outputs as AuditOutputs;
    if (a.status !== 'RED') continue;
    const dates = a.red_dates ?? [];
    const shown = dates.slice(0, 10).join(', ') + (dates.length > 10 ? ` … (+${dates.length - 10} more)` : '');
    const rules = (a.red_reasons ?? []).map((r) => `${r.rule}: ${r.count}`).join('; ');
    throw new DataQualityError(
      `refusing to train: data-quality audit "${id}" of dataset ${a.dataset ?? '?'} is RED on ${dates.length} date(s): ${shown}` +
        (rules ? ` [${rules}]` : '') +
        ` — fix or backfill the data (re-run ingest), then retry this run`,
      { audit_step: id, red_dates: dates, red_reasons: a.red_reasons ?? [] },
    );
  }
}
