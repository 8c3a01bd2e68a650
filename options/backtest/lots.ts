/**
 * Lot sizes for the backtest from the chain audit (audit/lot-size.ts inference per date and expiry):
 * the lot of (date, expiry) is the one inferred that date, else the latest earlier inference for
 * that expiry (point in time). Throws when no lot was ever inferred for the expiry by that date.
 */
import type { DateAudit } from '../audit/chain-audit.ts';

/** Lot lookup by (date, expiry). */
export type LotTable = (date: string, expiry: string) => number;

/** Builds a lot table from per-date audits (ascending dates). */
export function lotTableFromAudits(audits: readonly DateAudit[]): LotTable {
  const byExpiry = new Map<string, Array<{ date: string; lot: number }>>();
  for (const a of audits) {
    for (const [e, l] of Object.entries(a.lots)) {
      if (!Number.isInteger(l.lot)) continue;
      (byExpiry.get(e) ?? byExpiry.set(e, []).get(e)!).push({ date: a.date, lot: l.lot });
    }
  }
  return (date, expiry) => {
    const xs = byExpiry.get(expiry) ?? [];
    let lot = NaN;
    for (const x of xs) if (x.date <= date) lot = x.lot;
    if (!Number.isFinite(lot)) throw new Error(`lot size of expiry ${expiry} unknown on ${date}: no traded row gave a lot by then`);
    return lot;
  };
}
