import { type AsParams, asQuotes } from './avellaneda_stoikov.ts';
import type { MmMarket } from './markets/market.ts';

/** Quotes for the next step (A-S price units; null = no quote on that side). */
export interface Quotes {
  bid: number | null;
  ask: number | null;
}

/**
 * A-S quotes modified by a spread multiplier m and an inventory-skew multiplier κ:
 * r = s − κ·q·γσ²(T − t), bid/ask = r ∓ m·(γσ²(T − t) + (2/γ)ln(1 + γ/k))/2; m = κ = 1 is
 * Avellaneda–Stoikov (2008) exactly. Inventory limit: no bid at q ≥ qMax, no ask at q ≤ −qMax.
 */
export function modifiedAsQuotes(market: MmMarket, p: AsParams, qMax: number, spreadMult = 1, skewMult = 1): Quotes {
  const q = market.inventory();
  const s = market.mid();
  const base = asQuotes(s, skewMult * q, market.timeToHorizon(), p);
  const half = (spreadMult * base.spread) / 2;
  return { bid: q >= qMax ? null : base.reservation - half, ask: q <= -qMax ? null : base.reservation + half };
}

/** The RL market maker's actions: (spread multiplier, skew multiplier) pairs; index {@link AS_ACTION} is A-S. */
export const MM_ACTIONS: readonly { spread: number; skew: number }[] = [0.6, 0.8, 1, 1.25, 1.6].flatMap((spread) => [0.5, 1, 2].map((skew) => ({ spread, skew })));

/** Index of (1, 1) = the Avellaneda–Stoikov quotes. */
export const AS_ACTION = MM_ACTIONS.findIndex((a) => a.spread === 1 && a.skew === 1);
