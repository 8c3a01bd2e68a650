/**
 * Target: delta-hedged P&L of a long ATM straddle held `horizon` sessions, re-hedged daily at the
 * close on the real NIFTY path with each day's implied vols.
 *
 * Entry at the close (settle) of date t: the nearest expiry whose expiry date is after the exit
 * date t+h (no expiry inside the holding period), the listed strike nearest that expiry's parity
 * forward with an IV on both legs. Each session j = t … t+h−1 the straddle's spot delta
 * Δⱼ = (Fⱼ/Sⱼ)·(∂C/∂F + ∂P/∂F) (Black-76 at that day's IV of each leg; F/S converts the forward
 * delta to index units under constant carry) is shorted in the index, and the self-financing cash
 * account earns the repo rate:
 *
 *   P&L = V_{t+h} − V_t − Σⱼ Δⱼ·(S_{j+1} − S_j) + Σⱼ rⱼ·(d_j/365)·(Δⱼ·Sⱼ − Vⱼ)
 *
 * (V = C + P settles, INR per unit of the index; d_j calendar days to the next session). The index
 * dividend earned/paid by the hedge is ignored (NIFTY yield ≈ 1.2 %/yr: < 0.5 INR on 5 days).
 * Label: 1{P&L > 0}; the event end t1 = t+h is recorded for purging (AFML ch. 7).
 */
import { ChainIndex } from '../pricing/lookup.ts';
import { repoRate } from '../pricing/rates.ts';
import { calendarDays } from '../pricing/time.ts';
import { mean, quantile, sampleStd } from '../stats/series.ts';

/** One straddle target. */
export interface StraddleTarget {
  date: string;
  /** Exit date t+h (event end, for purging). */
  t1: string;
  expiry: string;
  strike: number;
  /** Entry premium C + P, INR per unit of the index. */
  entry: number;
  exit: number;
  /** Σ hedge P&L −Σ Δ·ΔS, INR per unit. */
  hedgePnl: number;
  /** Financing of the cash account, INR per unit. */
  carry: number;
  /** Delta-hedged P&L, INR per unit of the index (× lot size for one contract); NaN with `reason`. */
  pnl: number;
  /** pnl / entry premium. */
  pnlOverPremium: number;
  label: 0 | 1 | null;
  reason: string | null;
}

/** Targets for every date of `index` with `horizon` ≥ 1 sessions (dates without h successors get reason `horizon_beyond_data`). */
export function straddleTargets(index: ChainIndex, horizon: number): StraddleTarget[] {
  if (!(Number.isInteger(horizon) && horizon >= 1)) throw new RangeError(`straddleTargets: horizon must be an integer ≥ 1 (got ${horizon})`);
  return index.dates.map((d, i) => straddleTargetAt(index, i, horizon));
}

function straddleTargetAt(index: ChainIndex, i: number, h: number): StraddleTarget {
  const date = index.dates[i]!;
  const bad = (reason: string, extra: Partial<StraddleTarget> = {}): StraddleTarget => ({
    date, t1: index.dates[i + h] ?? '', expiry: '', strike: NaN, entry: NaN, exit: NaN, hedgePnl: NaN, carry: NaN, pnl: NaN, pnlOverPremium: NaN, label: null, reason, ...extra,
  });
  if (i + h >= index.dates.length) return bad('horizon_beyond_data');
  const t1 = index.dates[i + h]!;
  const chain = index.chain(date)!;
  const slice = chain.slices.filter((s) => s.expiry > t1 && Number.isFinite(s.forward)).sort((a, b) => a.t - b.t)[0];
  if (!slice) return bad('no_expiry_after_exit');
  const strikes = [...new Set(slice.contracts.filter((c) => c.reason === null).map((c) => c.strike))]
    .filter((k) => index.contract(date, slice.expiry, 'C', k)?.reason === null && index.contract(date, slice.expiry, 'P', k)?.reason === null)
    .sort((a, b) => Math.abs(a - slice.forward) - Math.abs(b - slice.forward) || a - b);
  const K = strikes[0];
  if (K === undefined) return bad('no_atm_pair', { expiry: slice.expiry });
  const leg = (d: string, type: 'C' | 'P') => index.contract(d, slice.expiry, type, K);
  let hedge = 0;
  let carry = 0;
  for (let j = i; j < i + h; j++) {
    const d = index.dates[j]!;
    const c = leg(d, 'C');
    const p = leg(d, 'P');
    const s = index.slice(d, slice.expiry);
    if (!c || !p || c.reason || p.reason || !s) return bad(`no_iv_on_${d}`, { expiry: slice.expiry, strike: K });
    const S0 = index.spot(d);
    const S1 = index.spot(index.dates[j + 1]!);
    const delta = (s.forward / S0) * (c.delta + p.delta);
    hedge -= delta * (S1 - S0);
    carry += repoRate(d) * (calendarDays(d, index.dates[j + 1]!) / 365) * (delta * S0 - (c.price + p.price));
  }
  const c1 = leg(t1, 'C');
  const p1 = leg(t1, 'P');
  if (!c1 || !p1 || !Number.isFinite(c1.price) || !Number.isFinite(p1.price)) return bad(`no_price_on_${t1}`, { expiry: slice.expiry, strike: K });
  const entry = leg(date, 'C')!.price + leg(date, 'P')!.price;
  const exit = c1.price + p1.price;
  const pnl = exit - entry + hedge + carry;
  return { date, t1, expiry: slice.expiry, strike: K, entry, exit, hedgePnl: hedge, carry, pnl, pnlOverPremium: pnl / entry, label: pnl > 0 ? 1 : 0, reason: null };
}

/** Summary of targets with a P&L: count, mean/median/std of P&L (INR per unit) and of P&L/premium, P(P&L > 0). */
export function straddleTargetStats(targets: readonly StraddleTarget[]): { n: number; nMissing: number; mean: number; median: number; std: number; meanOverPremium: number; pPositive: number; missingReasons: Record<string, number> } {
  const ok = targets.filter((t) => t.reason === null);
  const missingReasons: Record<string, number> = {};
  for (const t of targets) if (t.reason) missingReasons[t.reason.replace(/_\d{4}-\d\d-\d\d$/, '')] = (missingReasons[t.reason.replace(/_\d{4}-\d\d-\d\d$/, '')] ?? 0) + 1;
  const pnl = ok.map((t) => t.pnl);
  return {
    n: ok.length, nMissing: targets.length - ok.length, mean: mean(pnl), median: quantile(pnl, 0.5), std: sampleStd(pnl),
    meanOverPremium: mean(ok.map((t) => t.pnlOverPremium)), pPositive: ok.length ? ok.filter((t) => t.pnl > 0).length / ok.length : NaN, missingReasons,
  };
}
