import type { ContractValue } from '../contracts/define.ts';
import type { dataQuality } from '../contracts/market.ts';
import type { Input } from '../kinds/types.ts';
import { DataQualityError } from '../lib/errors.ts';

/** The `data.quality` input every training kind consumes (many, optional) for {@link assertNotRed}. */
export type QualityInput = Input<ContractValue<typeof dataQuality>>;

/**
 * Refuses to train on RED data: throws a non-retryable DataQualityError when any upstream audit
 * (the `data.quality` inputs of the step) reported status RED, naming the dataset, the RED dates and
 * the rules that made them RED with their counts. Call it first thing in every training step.
 */
export function assertNotRed(verdicts: QualityInput[]): void {
  for (const { step, value: a } of verdicts) {
    if (a.status !== 'RED') continue;
    const dates = a.red_dates;
    const shown = dates.slice(0, 10).join(', ') + (dates.length > 10 ? ` … (+${dates.length - 10} more)` : '');
    const rules = a.red_reasons.map((r) => `${r.rule}: ${r.count}`).join('; ');
    throw new DataQualityError(
      `refusing to train: data-quality audit "${step}" of dataset ${a.dataset} is RED on ${dates.length} date(s): ${shown}` +
        (rules ? ` [${rules}]` : '') +
        ` — fix or backfill the data (re-run ingest), then retry this run` +
        (a.red_hints.length ? `\n  ${a.red_hints.join('\n  ')}` : ''),
      { audit_step: step, red_dates: dates, red_reasons: a.red_reasons },
    );
  }
}
