/**
 * At-the-money quantities read off a market smile without a model: linear interpolation in
 * log-moneyness k = ln(K/F) of total implied variance w = σ²T between the two OTM points that
 * bracket k = 0 (the forward). NaN with a reason when the smile does not bracket the forward.
 */
import type { ContractIv } from '../pricing/chain-iv.ts';

/** ATM total variance and vol of one slice. */
export interface AtmPoint {
  /** Total implied variance at k = 0 (years × vol²). */
  w: number;
  /** ATM implied vol, annualised decimal (√(w/T)). */
  iv: number;
  reason: 'no_bracket' | null;
}

/**
 * ATM point from an OTM smile sorted by k (options/pricing/chain-iv.ts `otmSmile`) with `t` years to expiry.
 * Uses the nearest point on each side of k = 0 (a point at exactly k = 0 is returned as is).
 */
export function atmFromSmile(smile: readonly ContractIv[], t: number): AtmPoint {
  let left: ContractIv | null = null;
  let right: ContractIv | null = null;
  for (const c of smile) {
    if (!Number.isFinite(c.iv)) continue;
    if (c.k <= 0 && (!left || c.k > left.k)) left = c;
    if (c.k >= 0 && (!right || c.k < right.k)) right = c;
  }
  if (!left || !right || !(t > 0)) return { w: NaN, iv: NaN, reason: 'no_bracket' };
  const wl = left.iv * left.iv * t;
  const wr = right.iv * right.iv * t;
  const w = right.k === left.k ? wl : wl + ((0 - left.k) / (right.k - left.k)) * (wr - wl);
  return { w, iv: Math.sqrt(w / t), reason: null };
}
