/**
 * Maximum loss of a structure at expiry, INR per unit structure (legs with qty ±1), from the
 * decision-date premiums — the risk budget of the backtest's sizing:
 * - net debit (premium paid > 0, e.g. long straddle/strangle, debit verticals): the debit;
 * - defined-risk credit (every short leg covered by a long leg of the same type, e.g. iron condor):
 *   the widest spread width minus the net credit;
 * - uncovered shorts (short straddle/strangle): unbounded; the stated proxy is 3 × the credit
 *   received (≈ a 3-standard-deviation move for an ATM straddle, whose premium ≈ 0.8·σ√T·S).
 */
import type { Leg } from './structures.ts';

/** Max loss per unit structure for legs `legs` priced at `prices` (INR); always > 0 (NaN for empty legs). */
export function maxLossPerUnit(legs: readonly Leg[], prices: readonly number[]): number {
  if (legs.length === 0) return NaN;
  const net = legs.reduce((s, l, i) => s + l.qty * prices[i]!, 0); // > 0: debit paid
  if (net > 0) return net;
  const covered = (['C', 'P'] as const).every((type) => {
    const sh = legs.filter((l) => l.type === type && l.qty < 0).reduce((s, l) => s - l.qty, 0);
    const lg = legs.filter((l) => l.type === type && l.qty > 0).reduce((s, l) => s + l.qty, 0);
    return sh <= lg;
  });
  if (!covered) return 3 * -net;
  let width = 0;
  for (const type of ['C', 'P'] as const) {
    const ks = legs.filter((l) => l.type === type).map((l) => l.strike);
    if (ks.length) width = Math.max(width, Math.max(...ks) - Math.min(...ks));
  }
  return Math.max(width + net, 1e-9);
}
