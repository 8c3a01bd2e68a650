/**
 * The four rule strategies the router chooses among. Each is a backtest {@link Signal}: it decides
 * at the close of `view.asOf` from point-in-time data only and returns a trade intent or null.
 *
 * 1. gamma_scalping — IV rank (60 dates) ≤ 0.3: buy the ATM straddle, delta-hedge daily, hold 5 sessions.
 *    Long gamma is cheap when implied vol is low relative to its own recent range.
 * 2. oi_buildup — price/OI build-up over 5 sessions: OI up with price up (long build-up) and the
 *    put/call OI ratio rising (put writing) → bull call spread; OI up with price down (short build-up)
 *    and PCR falling (call writing) → bear put spread; price and OI moving apart without PCR
 *    confirmation → no trade. Hold 5 sessions.
 * 3. vol_expansion — Bollinger squeeze on NIFTY (20-day bandwidth in the lowest 20 % of 120 days):
 *    buy the ATM straddle unhedged (a breakout either way), hold 10 sessions.
 * 4. expiry_pin — the front expiry 2–6 calendar days away, spot within 1 % of max pain and above the
 *    gamma-flip level (positive dealer gamma, SqueezeMetrics convention: hedging dampens moves):
 *    sell an iron condor (put and call credit spreads at 25Δ with 10Δ wings, away from the pin) on that
 *    expiry, held to expiry.
 */
import type { Signal, TradeIntent } from '../backtest/engine.ts';
import { frontExpiryFor } from '../backtest/expiry-choice.ts';
import type { PointInTimeView } from '../backtest/view.ts';
import { maxPainStrike } from '../features/snapshot.ts';
import { calendarDays } from '../pricing/time.ts';
import { bollingerSqueeze, gammaFlip, ivRank, netGammaAt, pcrOi, totalOi } from './indicators.ts';

/** Names of the rule strategies. */
export const STRATEGIES = ['gamma_scalping', 'oi_buildup', 'vol_expansion', 'expiry_pin'] as const;
/** One rule strategy's name. */
export type StrategyName = (typeof STRATEGIES)[number];

/** Gamma scalping: low IV rank → long delta-hedged ATM straddle. */
export const gammaScalping: Signal = (v) => {
  const r = ivRank(v);
  return Number.isFinite(r) && r <= 0.3 ? { structure: 'long_straddle', holdDays: 5, deltaHedge: true, tag: 'gamma_scalping' } : null;
};

/** OI build-up confirmed by the PCR trend → directional vertical spread. */
export const oiBuildup: Signal = (v) => {
  const d = v.lastDates(6);
  if (d.length < 6) return null;
  const [d0, d5] = [d[0]!, d[5]!];
  const ret = v.spot(d5) / v.spot(d0) - 1;
  const dOi = totalOi(v.chain(d5)) / totalOi(v.chain(d0)) - 1;
  const dPcr = pcrOi(v.chain(d5)) - pcrOi(v.chain(d0));
  if (![ret, dOi, dPcr].every(Number.isFinite) || dOi <= 0.02 || Math.abs(ret) < 0.005) return null;
  if (ret > 0 && dPcr > 0) return { structure: 'bull_call_spread', holdDays: 5, tag: 'oi_buildup' };
  if (ret < 0 && dPcr < 0) return { structure: 'bear_put_spread', holdDays: 5, tag: 'oi_buildup' };
  return null;
};

/** Bollinger squeeze → long straddle. */
export const volExpansion: Signal = (v) => (bollingerSqueeze(v).squeeze ? { structure: 'long_straddle', holdDays: 10, tag: 'vol_expansion' } : null);

/** Expiry pin → iron condor around the pin on the expiring series. */
export const expiryPin: Signal = (v) => {
  const s = frontExpiryFor(v, 2);
  if (!s) return null;
  const days = calendarDays(v.asOf, s.expiry);
  if (days > 6) return null;
  const S = v.spot();
  const pin = maxPainStrike(s.contracts);
  if (!(Math.abs(pin / S - 1) <= 0.01)) return null;
  const flip = gammaFlip(s, S);
  const positive = netGammaAt(s, S, S) > 0 && (!Number.isFinite(flip) || S > flip);
  return positive ? { structure: 'iron_condor', holdDays: days + 5, minDays: 2, tag: 'expiry_pin' } : null;
};

/** The strategies by name. */
export const STRATEGY_SIGNALS: Record<StrategyName, Signal> = {
  gamma_scalping: gammaScalping,
  oi_buildup: oiBuildup,
  vol_expansion: volExpansion,
  expiry_pin: expiryPin,
};

/** Every strategy's intent at the close of `view.asOf` (nulls for those that do not fire). */
export function strategyIntents(view: PointInTimeView): Record<StrategyName, TradeIntent | null> {
  return Object.fromEntries(STRATEGIES.map((n) => [n, STRATEGY_SIGNALS[n](view)])) as Record<StrategyName, TradeIntent | null>;
}
