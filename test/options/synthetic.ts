/**
 * Synthetic Black-76 chains for tests of math with a known answer (never for figures): every
 * contract is priced at one flat vol on the parity forward F = S·e^{rT} with the repo rate of the date.
 */
import type { ChainRow } from '../../options/data/chain.ts';
import { black76Price } from '../../options/pricing/black76.ts';
import { discountFactor, repoRate } from '../../options/pricing/rates.ts';
import { yearFraction } from '../../options/pricing/time.ts';

/** Chain rows for `dates` with spot path `spots`, expiries `expiries`, strikes every 50 within ±15 % of the first spot. */
export function syntheticChain(dates: string[], spots: number[], expiries: string[], vol: number | ((date: string) => number), oi = 75_000): ChainRow[] {
  const rows: ChainRow[] = [];
  const k0 = Math.round((spots[0]! * 0.85) / 50) * 50;
  const k1 = Math.round((spots[0]! * 1.15) / 50) * 50;
  dates.forEach((date, i) => {
    const S = spots[i]!;
    const r = repoRate(date);
    for (const expiry of expiries) {
      if (expiry < date) continue;
      const t = yearFraction(date, expiry);
      const df = discountFactor(r, t);
      const F = S / df;
      const v = typeof vol === 'function' ? vol(date) : vol;
      for (let K = k0; K <= k1; K += 50) {
        for (const type of ['C', 'P'] as const) {
          const p = t > 0 ? black76Price({ type, forward: F, strike: K, t, vol: v, df }) : Math.max(type === 'C' ? S - K : K - S, 0);
          rows.push({
            date, expiry, type, strike: K, open: p, high: p, low: p, close: p, settle: p, contracts: 100, turnover: 100 * 75 * (K + p), premiumTurnover: 100 * 75 * p,
            oi, oiChange: null, underlying: S,
          });
        }
      }
    }
  });
  return rows;
}

/** Consecutive weekdays from `start` (ISO), `n` of them. */
export function weekdays(start: string, n: number): string[] {
  const out: string[] = [];
  const d = new Date(`${start}T00:00:00Z`);
  while (out.length < n) {
    const wd = d.getUTCDay();
    if (wd !== 0 && wd !== 6) out.push(d.toISOString().slice(0, 10));
    d.setUTCDate(d.getUTCDate() + 1);
  }
  return out;
}
