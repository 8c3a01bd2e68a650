import { StepError } from '../lib/errors.ts';

/**
 * Refuses an embargo (bars after each test group, AFML ch. 7.4.2) shorter than `horizonBars`, the
 * labels' longest interval [date, t1] in bars, i.e. rows of the symbol (fits pass the larger of the
 * labels contract's `max_horizon_bars` and the panel's longest interval, cv/panel.ts
 * `maxLabelRows`; the stacker its target sleeve's longest interval): the label
 * of a test row reaches that far past its group, and so does the serial dependence the embargo is
 * for. Purging by label intervals (cv/cpcv.ts) removes the overlapping rows either way; the embargo
 * rule keeps the protocol's margin explicit. With `allow` the fit goes on and a warning naming both
 * figures is logged. Throws a non-retryable StepError (type EmbargoTooShort) otherwise.
 */
export function checkEmbargo(embargoBars: number, horizonBars: number, allow: boolean, log: { warn(obj: object, msg: string): void }, who: string): void {
  if (embargoBars >= horizonBars) return;
  const msg = `${who}: the embargo (${embargoBars} bars) is shorter than the labels' longest interval (${horizonBars} bars)`;
  if (!allow) {
    throw new StepError({
      message: `${msg}: set cv.embargo_bars (or with.embargo_bars) to at least ${horizonBars}, or accept it explicitly with with.allow_short_embargo: true`,
      type: 'EmbargoTooShort', nonRetryable: true, details: { embargo_bars: embargoBars, horizon_bars: horizonBars },
    });
  }
  log.warn({ embargo_bars: embargoBars, horizon_bars: horizonBars }, `${msg}; accepted because with.allow_short_embargo is true`);
}
