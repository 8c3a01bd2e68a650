/**
 * Solves every date of a chain history (pricing/chain-iv.ts), with the NIFTY 50 close as the spot
 * fallback on dates whose rows lack an Underlying Value. Output ascending by date.
 */
import { groupByDate, type ChainRow } from '../data/chain.ts';
import { closeOn, type DailyClose } from '../data/index-series.ts';
import { solveDateChain, type DateChainIv } from './chain-iv.ts';

/** IVs and greeks of every date of `rows`. */
export function solveChainHistory(rows: readonly ChainRow[], nifty: readonly DailyClose[]): DateChainIv[] {
  return [...groupByDate(rows)].map(([d, r]) => solveDateChain(d, r, closeOn(nifty, d)));
}
