/**
 * Lot size (index units per contract) inferred from a day's rows of one expiry — the chains carry
 * no lot size (DATA.md §2). Two estimators are recorded:
 *
 * 1. Turnover identity (primary, exact): NSE reports Turnover = contracts × lot × (K + premium) and
 *    Premium Turnover = contracts × lot × premium, so lot = Σ(Turnover − Premium Turnover)/Σ(contracts × K)
 *    over the traded rows (the aggregate ratio averages out the rounding of the ₹-lakh figures,
 *    which is up to ~1 % on a single small row).
 * 2. OI ÷ contracts (DATA.md's rule): Open Int is in index units and equals contracts × lot on a
 *    contract's first traded day, so the modal value of OI/contracts over traded rows estimates the lot;
 *    it overestimates it when OI accumulated over earlier days, hence secondary.
 * The OI-units check (audit/rules.ts `oiUnits`) then requires every OI to be a whole multiple of a lot
 * in force for the series (positions opened before a lot revision keep the old multiple).
 */
import type { ChainRow } from '../data/chain.ts';

/** Lot-size inference of one (date, expiry). */
export interface LotSizeEstimate {
  /** Lot from the turnover identity (rounded to the nearest integer when within 1e-3), NaN without traded rows. */
  lot: number;
  /** Modal OI/contracts over traded rows with OI (NaN when none). */
  lotFromOi: number;
  /** Traded rows used by the turnover identity. */
  rows: number;
  /** Fraction of traded rows whose own turnover lot differs from `lot` by more than 1 % (QC: ≈ 0 when consistent). */
  spread: number;
  /** Rows whose OI is not a whole multiple of `lot` (OI in contracts, or a corrupt figure). */
  oiNotMultiple: number;
  /** Rows with an OI figure. */
  oiRows: number;
}

/** Infers the lot of one expiry on one date from its rows (see module docs). Never throws. */
export function inferLotSize(rows: readonly ChainRow[]): LotSizeEstimate {
  const lots: number[] = [];
  let num = 0;
  let den = 0;
  const ratio = new Map<number, number>();
  for (const r of rows) {
    const n = r.contracts ?? 0;
    if (n > 0 && r.turnover !== null && r.premiumTurnover !== null && r.strike > 0) {
      const l = (r.turnover - r.premiumTurnover) / (n * r.strike);
      if (Number.isFinite(l) && l > 0) {
        lots.push(l);
        num += r.turnover - r.premiumTurnover;
        den += n * r.strike;
      }
    }
    if (n > 0 && r.oi !== null && r.oi > 0) {
      const q = Math.round((r.oi / n) * 1000) / 1000;
      ratio.set(q, (ratio.get(q) ?? 0) + 1);
    }
  }
  const m = lots.length ? num / den : NaN;
  const lot = Number.isFinite(m) && Math.abs(m - Math.round(m)) <= 1e-3 * m ? Math.round(m) : m;
  let lotFromOi = NaN;
  let best = 0;
  for (const [q, c] of ratio) if (c > best || (c === best && q < lotFromOi)) [lotFromOi, best] = [q, c];
  let oiRows = 0;
  let oiNotMultiple = 0;
  for (const r of rows) {
    if (r.oi === null) continue;
    oiRows++;
    if (Number.isFinite(lot) && Math.abs(r.oi / lot - Math.round(r.oi / lot)) > 1e-6) oiNotMultiple++;
  }
  const spread = lots.length ? lots.filter((l) => Math.abs(l / lot - 1) > 0.01).length / lots.length : NaN;
  return { lot, lotFromOi, rows: lots.length, spread, oiNotMultiple, oiRows };
}
