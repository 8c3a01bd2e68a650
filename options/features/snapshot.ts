/**
 * Chain-only statistics of one date (the inputs of the options features that need no history).
 * Every quantity uses only that date's chain. Units:
 * - `atmIv1`, `atmIv2`: ATM implied vol of the front / second expiry (surface/atm.ts), vol points (15 = 15 %).
 * - `skew25`: σ(25Δ put) − σ(25Δ call) of the front expiry, vol points; deltas are undiscounted
 *   Black-76 forward deltas N(d1) (call) and N(−d1) (put) at each strike's own IV, and the IV at
 *   |Δ| = 0.25 is interpolated linearly in delta between the two OTM strikes that bracket it.
 * - `pcrVolume` = Σ put contracts / Σ call contracts; `pcrOi` = Σ put OI / Σ call OI (all expiries).
 * - `dealerGamma`: dealer net gamma exposure, INR per 1 % move of NIFTY, under the stated convention
 *   that dealers are SHORT every open option: GEX = −Σᵢ Γᵢ·OIᵢ·S²·0.01 over live expiries, with Γ
 *   the Black-76 gamma per index point and OIᵢ in index units (= contracts × lot, so "OI × gamma × lot").
 *   Negative = dealers short gamma (their hedging amplifies moves).
 * - `thetaPerNotional`: Σ Θᵢ·OIᵢ/365 ÷ (S·Σ OIᵢ): option holders' time decay per calendar day as a
 *   fraction of the OI notional (negative).
 * - `putWall`, `callWall`: (K* − S)/S for the front-expiry strike with the largest put / call OI.
 * - `maxPain`: (K* − S)/S for the front-expiry strike minimising the writers' payout
 *   Σ OI_call·max(K* − K, 0) + Σ OI_put·max(K − K*, 0) over listed strikes K* (max-pain strike).
 * NaN with a reason where a quantity does not exist on that date.
 */
import type { ContractIv, DateChainIv, ExpirySlice } from '../pricing/chain-iv.ts';
import { otmSmile } from '../pricing/chain-iv.ts';
import { atmFromSmile } from '../surface/atm.ts';
import { frontAndSecond } from './expiries.ts';

/** Per-date chain statistics (see module docs for units). */
export interface ChainSnapshot {
  date: string;
  spot: number;
  frontExpiry: string | null;
  atmIv1: number;
  atmIv2: number;
  skew25: number;
  pcrVolume: number;
  pcrOi: number;
  dealerGamma: number;
  thetaPerNotional: number;
  putWall: number;
  callWall: number;
  maxPain: number;
  /** Why a field is NaN. */
  reasons: Record<string, string>;
}

/** IV at |forward delta| = 0.25 on the OTM wing of `type`, NaN when no pair of strikes brackets it. */
export function iv25Delta(slice: ExpirySlice, type: 'C' | 'P'): number {
  const wing = otmSmile(slice)
    .filter((c) => c.type === type && Number.isFinite(c.delta))
    .map((c) => ({ d: Math.abs(c.delta) / slice.df, iv: c.iv }))
    .sort((a, b) => a.d - b.d);
  for (let i = 1; i < wing.length; i++) {
    const lo = wing[i - 1]!;
    const hi = wing[i]!;
    if (lo.d <= 0.25 && hi.d >= 0.25) return hi.d === lo.d ? lo.iv : lo.iv + ((0.25 - lo.d) / (hi.d - lo.d)) * (hi.iv - lo.iv);
  }
  return NaN;
}

/** Max-pain strike of one expiry's contracts (OI in index units), NaN when no OI. */
export function maxPainStrike(contracts: readonly ContractIv[]): number {
  const withOi = contracts.filter((c) => (c.oi ?? 0) > 0);
  if (withOi.length === 0) return NaN;
  const strikes = [...new Set(contracts.map((c) => c.strike))].sort((a, b) => a - b);
  let best = NaN;
  let bestPay = Infinity;
  for (const k of strikes) {
    let pay = 0;
    for (const c of withOi) pay += c.oi! * (c.type === 'C' ? Math.max(k - c.strike, 0) : Math.max(c.strike - k, 0));
    if (pay < bestPay) [best, bestPay] = [k, pay];
  }
  return best;
}

/** Strike with the largest OI of `type` (ties → the lower strike), NaN when none. */
function wall(contracts: readonly ContractIv[], type: 'C' | 'P'): number {
  let best = NaN;
  let oi = 0;
  for (const c of contracts) if (c.type === type && (c.oi ?? 0) > oi) [best, oi] = [c.strike, c.oi!];
  return best;
}

/** Computes the snapshot of one date's solved chain. */
export function chainSnapshot(chain: DateChainIv): ChainSnapshot {
  const reasons: Record<string, string> = {};
  const nan = (field: string, why: string) => {
    reasons[field] = why;
    return NaN;
  };
  const S = chain.spot;
  const { front, second } = frontAndSecond(chain);
  const atm = (s: ExpirySlice | null, field: string) => {
    if (!s) return nan(field, field === 'atmIv2' ? 'no second expiry with ≥ 5 days' : 'no expiry with ≥ 5 days');
    const a = atmFromSmile(otmSmile(s), s.t);
    return a.reason ? nan(field, `ATM: ${a.reason}`) : 100 * a.iv;
  };
  const atmIv1 = atm(front, 'atmIv1');
  const atmIv2 = atm(second, 'atmIv2');
  let skew25 = NaN;
  if (!front) nan('skew25', 'no front expiry');
  else {
    const p = iv25Delta(front, 'P');
    const c = iv25Delta(front, 'C');
    skew25 = Number.isFinite(p) && Number.isFinite(c) ? 100 * (p - c) : nan('skew25', '25-delta strikes not bracketed');
  }
  const all = chain.slices.flatMap((s) => s.contracts);
  const sum = (type: 'C' | 'P', f: (c: ContractIv) => number | null) => all.reduce((s, c) => s + (c.type === type ? f(c) ?? 0 : 0), 0);
  const callVol = sum('C', (c) => c.contracts);
  const callOi = sum('C', (c) => c.oi);
  const pcrVolume = callVol > 0 ? sum('P', (c) => c.contracts) / callVol : nan('pcrVolume', 'no call volume');
  const pcrOi = callOi > 0 ? sum('P', (c) => c.oi) / callOi : nan('pcrOi', 'no call OI');
  let gex = 0;
  let theta = 0;
  let oi = 0;
  let nG = 0;
  for (const c of all) {
    if (!((c.oi ?? 0) > 0) || !Number.isFinite(c.gamma)) continue;
    gex -= c.gamma * c.oi! * S * S * 0.01;
    theta += (c.theta / 365) * c.oi!;
    oi += c.oi!;
    nG++;
  }
  const ok = nG > 0 && Number.isFinite(S);
  const dealerGamma = ok ? gex : nan('dealerGamma', Number.isFinite(S) ? 'no contract with OI and gamma' : 'no spot');
  const thetaPerNotional = ok ? theta / (S * oi) : nan('thetaPerNotional', Number.isFinite(S) ? 'no contract with OI and theta' : 'no spot');
  const rel = (k: number, field: string) => (Number.isFinite(k) && Number.isFinite(S) ? (k - S) / S : nan(field, front ? 'no OI on the front expiry' : 'no front expiry'));
  const fc = front?.contracts ?? [];
  return {
    date: chain.date, spot: S, frontExpiry: front?.expiry ?? null, atmIv1, atmIv2, skew25, pcrVolume, pcrOi, dealerGamma, thetaPerNotional,
    putWall: rel(wall(fc, 'P'), 'putWall'), callWall: rel(wall(fc, 'C'), 'callWall'), maxPain: rel(maxPainStrike(fc), 'maxPain'), reasons,
  };
}
