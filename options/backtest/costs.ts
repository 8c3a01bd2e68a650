/**
 * Transaction costs of the options backtest. The chains have no bid/ask, so costs are a stated
 * proportional model:
 * - option legs: `optionBps` basis points of the premium traded, |qty|·lot·price·bps/10⁴, on every
 *   fill (entry and exit). Default 50 bp: STT on option sales (0.1 % of premium since Oct 2024,
 *   charged on the sell side, i.e. ~5 bp per side on average), NSE transaction charges (~3.5 bp) and
 *   an assumed half-spread of ~40 bp of premium for liquid NIFTY strikes at settle-based fills.
 * - delta hedge in the index (NIFTY futures): `hedgeBps` of the notional |ΔH|·S traded, default 1 bp.
 * Not modelled: margin financing, impact of size, exercise/assignment STT at expiry.
 */

/** Cost model parameters (basis points). */
export interface CostModel {
  optionBps: number;
  hedgeBps: number;
}

/** The default cost model (see module docs for the reasoning). */
export const DEFAULT_COSTS: CostModel = { optionBps: 50, hedgeBps: 1 };

/** Cost in INR of trading `units` (index units = contracts × lot, any sign) of an option at `price` INR. */
export function optionCost(units: number, price: number, m: CostModel): number {
  return (Math.abs(units) * price * m.optionBps) / 1e4;
}

/** Cost in INR of trading `units` of the index hedge at spot `spot`. */
export function hedgeCost(units: number, spot: number, m: CostModel): number {
  return (Math.abs(units) * spot * m.hedgeBps) / 1e4;
}
