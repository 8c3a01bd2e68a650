/**
 * Options features straight from chain rows and NIFTY closes: solve IVs per date
 * (pricing/history.ts) → chain snapshot per date (features/snapshot.ts) → the 16 features
 * (features/compute.ts). Point in time: truncating both inputs at t leaves every row ≤ t unchanged.
 */
import type { ChainRow } from '../data/chain.ts';
import type { DailyClose } from '../data/index-series.ts';
import type { DateChainIv } from '../pricing/chain-iv.ts';
import { solveChainHistory } from '../pricing/history.ts';
import { computeOptionsFeatures, type OptionsFeatureRow } from './compute.ts';
import { chainSnapshot } from './snapshot.ts';

/** Feature rows (ascending date) of a chain history. */
export function optionsFeaturesFromChain(rows: readonly ChainRow[], nifty: readonly DailyClose[]): OptionsFeatureRow[] {
  return computeOptionsFeatures(solveChainHistory(rows, nifty).map(chainSnapshot), nifty);
}

/** Feature rows from an already solved history (pricing/history.ts) — same result, no re-solve. */
export function optionsFeaturesFromHistory(history: readonly DateChainIv[], nifty: readonly DailyClose[]): OptionsFeatureRow[] {
  return computeOptionsFeatures(history.map(chainSnapshot), nifty);
}
