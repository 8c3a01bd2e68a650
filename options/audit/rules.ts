/**
 * Chain audit rules: pure functions over the rows of one date (and, for the rules that compare
 * days, the previous date's rows). Each returns a {@link RuleFinding} with the count of offending
 * items, the number of items examined and a GREEN/AMBER/RED level from the thresholds of
 * {@link ChainAuditThresholds}. Prices INR per unit of the index; OI in index units.
 */
import { groupByExpiry, optionPrice, type ChainRow } from '../data/chain.ts';
import { parityForward, parityPairs } from '../pricing/forward.ts';
import { discountFactor, repoRate } from '../pricing/rates.ts';
import { calendarDays, yearFraction } from '../pricing/time.ts';
import type { LotSizeEstimate } from './lot-size.ts';
import { DEFAULT_THRESHOLDS, type ChainAuditThresholds } from './thresholds.ts';

export { DEFAULT_THRESHOLDS, type ChainAuditThresholds };

/** Coverage level, the project's data-quality vocabulary. */
export type AuditLevel = 'GREEN' | 'AMBER' | 'RED';

/** The result of one rule on one date. */
export interface RuleFinding {
  rule: string;
  level: AuditLevel;
  /** Offending items (rows, pairs, strikes — see `detail`). */
  count: number;
  /** Items examined. */
  of: number;
  detail: string;
}

/** Level of `count` offenders among `of` for `rule` under `th` (GREEN when nothing was examined). */
export function levelOf(rule: string, count: number, of: number, th: ChainAuditThresholds): AuditLevel {
  const lv = th.levels[rule];
  if (!lv) throw new Error(`chain audit: no thresholds for rule "${rule}"`);
  if (of === 0 || count === 0) return 'GREEN';
  const f = count / of;
  return f > lv[1] ? 'RED' : f > lv[0] ? 'AMBER' : 'GREEN';
}

const finding = (rule: string, count: number, of: number, detail: string, th: ChainAuditThresholds): RuleFinding => ({ rule, level: levelOf(rule, count, of, th), count, of, detail });

/** Zero prices: a Settle or Close of exactly 0, or a traded row with a zero Open/High/Low. */
export function zeroPrices(rows: readonly ChainRow[], th: ChainAuditThresholds): RuleFinding {
  let n = 0;
  for (const r of rows) {
    const traded = (r.contracts ?? 0) > 0;
    if (r.settle === 0 || r.close === 0 || (traded && (r.open === 0 || r.high === 0 || r.low === 0))) n++;
  }
  return finding('zero_price', n, rows.length, `${n} rows with a zero settle/close (or zero OHL on a traded row)`, th);
}

/** Crossed prices on traded rows: High < Low, or Close/LTP outside [Low − tick, High + tick]. */
export function crossedPrices(rows: readonly ChainRow[], th: ChainAuditThresholds): RuleFinding {
  let n = 0;
  let of = 0;
  for (const r of rows) {
    if (!((r.contracts ?? 0) > 0) || r.high === null || r.low === null) continue;
    of++;
    const out = (x: number | null) => x !== null && (x < r.low! - th.tick || x > r.high! + th.tick);
    if (r.high < r.low || out(r.close) || out(r.open)) n++;
  }
  return finding('crossed_price', n, of, `${n} traded rows with high < low or open/close outside [low, high]`, th);
}

/**
 * Vertical-spread (strike monotonicity) arbitrage on settles: calls must not rise and puts must not
 * fall with the strike (Merton 1973); adjacent priced strikes of one expiry and type, tolerance one tick.
 */
export function verticalArbitrage(rows: readonly ChainRow[], th: ChainAuditThresholds): RuleFinding {
  let n = 0;
  let of = 0;
  let bothTraded = 0;
  for (const [, er] of groupByExpiry(rows)) {
    for (const type of ['C', 'P'] as const) {
      const px = er
        .filter((r) => r.type === type)
        .map((r) => ({ k: r.strike, p: optionPrice(r)?.price, traded: (r.contracts ?? 0) > 0 }))
        .filter((x): x is { k: number; p: number; traded: boolean } => x.p !== undefined)
        .sort((a, b) => a.k - b.k);
      for (let i = 1; i < px.length; i++) {
        of++;
        const d = px[i]!.p - px[i - 1]!.p;
        if (type === 'C' ? d > th.tick : d < -th.tick) {
          n++;
          if (px[i]!.traded && px[i - 1]!.traded) bothTraded++;
        }
      }
    }
  }
  return finding('vertical_arbitrage', n, of, `${n} adjacent-strike pairs where the call rises or the put falls with the strike (${bothTraded} with both legs traded)`, th);
}

/**
 * Stale settles: an untraded contract whose settle equals the previous date's while the underlying
 * moved by more than `staleMove`; settles at the price floor are exempt. GREEN when there is no previous date.
 */
export function staleSettles(rows: readonly ChainRow[], prev: readonly ChainRow[] | null, th: ChainAuditThresholds): RuleFinding {
  if (!prev) return finding('stale_settle', 0, 0, 'no previous date', th);
  const s1 = rows.find((r) => r.underlying !== null)?.underlying ?? null;
  const s0 = prev.find((r) => r.underlying !== null)?.underlying ?? null;
  if (s1 === null || s0 === null) return finding('stale_settle', 0, 0, 'underlying value missing on this or the previous date', th);
  const move = Math.abs(s1 / s0 - 1);
  const before = new Map(prev.map((r) => [`${r.expiry}|${r.type}|${r.strike}`, r.settle]));
  let n = 0;
  let of = 0;
  for (const r of rows) {
    const p = before.get(`${r.expiry}|${r.type}|${r.strike}`);
    if (r.settle === null || p === undefined || p === null || r.settle <= th.staleFloor) continue;
    of++;
    if (move > th.staleMove && r.settle === p && !((r.contracts ?? 0) > 0)) n++;
  }
  return finding('stale_settle', n, of, `${n} untraded settles unchanged while NIFTY moved ${(100 * move).toFixed(2)}%`, th);
}

/**
 * Put–call parity breaches: |C − P − D·(F − K)| > parityTolerance·S over traded pairs within `band`
 * of the parity forward F of each expiry (F and D as in pricing/forward.ts; zero-time expiries skipped).
 */
export function parityBreaches(rows: readonly ChainRow[], spot: number, th: ChainAuditThresholds): RuleFinding {
  let n = 0;
  let of = 0;
  let worst = 0;
  for (const [expiry, er] of groupByExpiry(rows)) {
    const t = yearFraction(er[0]!.date, expiry);
    if (!(t > 0)) continue;
    const df = discountFactor(repoRate(er[0]!.date), t);
    const pairs = parityPairs(er);
    const f = parityForward(pairs, df);
    if (f.reason) continue;
    for (const p of pairs) {
      if (!p.traded || Math.abs(p.strike / f.forward - 1) > th.band) continue;
      of++;
      const e = Math.abs(p.call - p.put - df * (f.forward - p.strike));
      worst = Math.max(worst, e);
      if (e > th.parityTolerance * spot) n++;
    }
  }
  return finding('parity_breach', n, of, `${n} traded near-money pairs breach parity by > ${(100 * th.parityTolerance).toFixed(2)}% of spot (worst ${worst.toFixed(2)} INR)`, th);
}

/**
 * Strike grid: per expiry the modal spacing of adjacent strikes is the grid step; offenders are
 * strikes off that grid plus grid points missing within `band`/2 of spot (holes in the listed chain).
 */
export function strikeGrid(rows: readonly ChainRow[], spot: number, th: ChainAuditThresholds): RuleFinding & { steps: Record<string, number> } {
  let n = 0;
  let of = 0;
  const steps: Record<string, number> = {};
  for (const [expiry, er] of groupByExpiry(rows)) {
    const ks = [...new Set(er.map((r) => r.strike))].sort((a, b) => a - b);
    const gaps = new Map<number, number>();
    for (let i = 1; i < ks.length; i++) {
      const g = Math.round((ks[i]! - ks[i - 1]!) * 100) / 100;
      gaps.set(g, (gaps.get(g) ?? 0) + 1);
    }
    let step = NaN;
    let best = 0;
    for (const [g, c] of gaps) if (c > best) [step, best] = [g, c];
    steps[expiry] = step;
    if (!Number.isFinite(step)) continue;
    const set = new Set(ks);
    for (const k of ks) {
      of++;
      if (Math.abs(k / step - Math.round(k / step)) > 1e-9) n++;
    }
    if (Number.isFinite(spot)) {
      const lo = Math.ceil((spot * (1 - th.band / 2)) / step) * step;
      for (let k = lo; k <= spot * (1 + th.band / 2); k += step) {
        of++;
        if (!set.has(k)) n++;
      }
    }
  }
  return { ...finding('strike_grid', n, of, `${n} strikes off the grid or missing near the money (steps ${JSON.stringify(steps)})`, th), steps };
}

/**
 * Expiry consistency: an expiry before the trade date or on a weekend, no live expiry at all, an
 * expiry live on the previous date but absent now although not yet expired, or a call strike
 * without its put (or vice versa). Any of these is RED except the call/put mismatch (AMBER).
 */
export function expiryConsistency(rows: readonly ChainRow[], prev: readonly ChainRow[] | null): RuleFinding {
  const date = rows[0]?.date ?? '';
  const exp = [...new Set(rows.map((r) => r.expiry))].sort();
  const problems: string[] = [];
  let red = false;
  const severe = (msg: string) => {
    red = true;
    problems.push(msg);
  };
  if (exp.length === 0) severe('no live expiry');
  for (const e of exp) {
    if (calendarDays(date, e) < 0) severe(`${e} before the trade date`);
    const wd = new Date(`${e}T00:00:00Z`).getUTCDay();
    if (wd === 0 || wd === 6) severe(`${e} falls on a weekend`);
    const er = rows.filter((r) => r.expiry === e);
    const c = new Set(er.filter((r) => r.type === 'C').map((r) => r.strike));
    const p = new Set(er.filter((r) => r.type === 'P').map((r) => r.strike));
    const odd = [...c].filter((k) => !p.has(k)).length + [...p].filter((k) => !c.has(k)).length;
    if (odd) problems.push(`${e}: ${odd} strikes listed for one option type only`);
  }
  if (prev) {
    for (const e of new Set(prev.map((r) => r.expiry))) if (e >= date && !exp.includes(e)) severe(`${e} live on ${prev[0]!.date} but missing`);
  }
  const level: AuditLevel = red ? 'RED' : problems.length ? 'AMBER' : 'GREEN';
  return { rule: 'expiry_consistency', level, count: problems.length, of: exp.length, detail: problems.join('; ') || `${exp.length} live expiries` };
}

/**
 * OI units: every Open Int must be a non-negative whole multiple of a lot in force for its series —
 * `unit` = gcd of the lots inferred on this and earlier dates (e.g. 25 after NSE's 25 → 75 revision,
 * since positions opened at 25 stay open), i.e. OI is in index units, not contracts. And where both
 * days exist, OI_t − OI_{t−1} must equal Change in OI.
 */
export function oiUnits(rows: readonly ChainRow[], prev: readonly ChainRow[] | null, lots: Record<string, LotSizeEstimate>, unit: number, th: ChainAuditThresholds): RuleFinding[] {
  let bad = 0;
  let legacy = 0;
  let of = 0;
  const whole = (x: number, m: number) => Math.abs(x / m - Math.round(x / m)) <= 1e-6;
  for (const r of rows) {
    if (r.oi === null) continue;
    of++;
    const lot = lots[r.expiry]?.lot ?? NaN;
    if (r.oi < 0 || (Number.isFinite(unit) && !whole(r.oi, unit))) bad++;
    else if (Number.isFinite(lot) && !whole(r.oi, lot)) legacy++;
  }
  const out = [finding('oi_units', bad, of, `${bad} OI figures negative or not a multiple of ${unit}; ${legacy} a multiple of an earlier lot only`, th)];
  if (prev) {
    const before = new Map(prev.map((r) => [`${r.expiry}|${r.type}|${r.strike}`, r.oi]));
    let mism = 0;
    let n = 0;
    for (const r of rows) {
      const o = before.get(`${r.expiry}|${r.type}|${r.strike}`);
      if (r.oi === null || r.oiChange === null || o === undefined || o === null) continue;
      n++;
      if (Math.abs(r.oi - o - r.oiChange) > 0.5) mism++;
    }
    out.push(finding('oi_change_mismatch', mism, n, `${mism} rows where OI − previous OI ≠ Change in OI`, th));
  }
  return out;
}

/**
 * Expiry settlement: on an expiry date NSE's Settle Price of every row of the expiring series is the
 * underlying's final settlement price (one value across strikes, equal to the Underlying Value).
 * AMBER when the expiring series carries more than one settle value or one that differs from the
 * Underlying Value by more than 0.05 INR (then its exercise values would be wrong). GREEN with nothing expiring.
 */
export function expirySettlement(rows: readonly ChainRow[]): RuleFinding {
  const exp = rows.filter((r) => r.date === r.expiry && r.settle !== null);
  const vals = new Set(exp.map((r) => r.settle));
  const uv = rows.find((r) => r.underlying !== null)?.underlying ?? null;
  const bad = vals.size > 1 || (vals.size === 1 && uv !== null && Math.abs([...vals][0]! - uv) > 0.05);
  return {
    rule: 'expiry_settlement', level: bad ? 'AMBER' : 'GREEN', count: bad ? exp.length : 0, of: exp.length,
    detail: exp.length ? `expiring series settles at ${[...vals].join(', ')} (underlying ${uv})` : 'no series expires today',
  };
}
