import type { PanelColumns } from './audit-core.ts';

/**
 * Corporate-action candidates in unadjusted daily prices (pure, no I/O): a one-day move of at
 * least `min_move` that is not reverted within `persist_days` rows is a candidate; when the
 * implied share multiplier prev_close / close is within `tolerance` (in log terms) of a common
 * split, bonus or consolidation ratio (for the small ratios 5:4, 4:3, 3:2 also with a volume level
 * shift by about that ratio, since such moves are ordinary crashes too) it is classified as one (7:1 split → factor 7, 1:1 bonus →
 * 2, 2:1 bonus → 3, 1:10 consolidation → 0.1), otherwise a persistent drop is a demerger /
 * special-dividend candidate with the price ratio as its factor. The factor column is what an
 * adjustment-factor table (date, symbol, factor) for the curated view takes.
 */

/** Common share multipliers and how exchanges name them (splits are N:1 new for old; Indian bonus issues are "bonus:held"). */
export const COMMON_RATIOS: readonly { factor: number; label: string }[] = [
  { factor: 1.25, label: '5:4 split / 1:4 bonus' },
  { factor: 4 / 3, label: '4:3 split / 1:3 bonus' },
  { factor: 1.5, label: '3:2 split / 1:2 bonus' },
  { factor: 2, label: '2:1 split / 1:1 bonus (face value 1:2)' },
  { factor: 2.5, label: '5:2 split' },
  { factor: 3, label: '3:1 split / 2:1 bonus' },
  { factor: 4, label: '4:1 split / 3:1 bonus' },
  { factor: 5, label: '5:1 split (face value 1:5)' },
  { factor: 6, label: '6:1 split' },
  { factor: 7, label: '7:1 split' },
  { factor: 8, label: '8:1 split' },
  { factor: 10, label: '10:1 split (face value 1:10)' },
  { factor: 15, label: '15:1 split' },
  { factor: 20, label: '20:1 split' },
  { factor: 25, label: '25:1 split' },
  { factor: 50, label: '50:1 split' },
  { factor: 100, label: '100:1 split' },
  ...[2, 3, 4, 5, 8, 10, 15, 20, 25, 50, 100].map((n) => ({ factor: 1 / n, label: `1:${n} reverse split (consolidation)` })),
];

/** One corporate-action candidate. */
export interface CorporateActionCandidate {
  symbol: string;
  /** Ex-date (days since 1970-01-01): the first row at the new price level. */
  day: number;
  prev_close: number;
  close: number;
  /** close / prev_close − 1. */
  move: number;
  /** prev_close / close. */
  implied_factor: number;
  /** The factor a factor table should carry: the matched common ratio, or the price ratio for a demerger. */
  factor: number;
  kind: 'split_or_bonus' | 'reverse_split' | 'demerger_or_special_dividend';
  label: string;
  /** Volume on the ex-date ÷ median volume of the 5 rows before (splits often show ≈ factor); null when unknown. */
  volume_ratio: number | null;
}

/** Options of the detector (from the `corporate_action` audit rule). */
export interface DetectOptions {
  min_move: number;
  persist_days: number;
  tolerance: number;
}

function median(xs: number[]): number {
  const a = xs.filter(Number.isFinite).sort((x, y) => x - y);
  if (!a.length) return NaN;
  const m = a.length >> 1;
  return a.length % 2 ? a[m]! : (a[m - 1]! + a[m]!) / 2;
}

/** The common ratio closest to `implied` in log terms, when within `tolerance`. */
export function matchRatio(implied: number, tolerance: number): { factor: number; label: string } | undefined {
  let best: { factor: number; label: string; d: number } | undefined;
  for (const r of COMMON_RATIOS) {
    const d = Math.abs(Math.log(implied) - Math.log(r.factor));
    if (!best || d < best.d) best = { ...r, d };
  }
  return best && best.d <= tolerance ? { factor: best.factor, label: best.label } : undefined;
}

/** Corporate-action candidates of a panel (rows sorted by symbol, date), in (symbol, date) order. */
export function detectCorporateActions(p: PanelColumns, o: DetectOptions): CorporateActionCandidate[] {
  const out: CorporateActionCandidate[] = [];
  for (let s = 0; s < p.symbols.length; s++) {
    const a = p.start[s]!;
    const b = p.end[s]!;
    for (let i = a + 1; i < b; i++) {
      const prev = p.close[i - 1]!;
      const c = p.close[i]!;
      if (!(prev > 0 && c > 0)) continue;
      const move = c / prev - 1;
      if (Math.abs(move) < o.min_move) continue;
      const later = p.close[Math.min(b - 1, i + o.persist_days)]!;
      if (i + 1 < b && !(Math.abs(Math.log(later / c)) < 0.5 * Math.abs(Math.log(c / prev)))) continue; // reverted: a bad print, not an action
      if (i - 2 >= a && Math.abs(Math.log(c / p.close[i - 2]!)) < 0.5 * Math.abs(Math.log(c / prev))) continue; // the row after a spike: its reversal
      const implied = prev / c;
      const v0 = median(Array.from(p.volume.subarray(Math.max(a, i - 5), i)));
      const vr = Number.isFinite(v0) && v0 > 0 && Number.isFinite(p.volume[i]!) ? p.volume[i]! / v0 : null;
      let m = matchRatio(implied, o.tolerance);
      if (m && m.factor > 0.55 && m.factor < 1.9) {
        // 5:4, 4:3, 3:2 look like ordinary crashes: require the share count's footprint, a volume level shift by the factor.
        const shift = median(Array.from(p.volume.subarray(i, Math.min(b, i + 5)))) / v0;
        if (!(Math.abs(Math.log(shift) - Math.log(m.factor)) <= 0.35)) m = undefined;
      }
      if (!m && move > 0) continue; // an unexplained jump up is news, not an adjustment
      const kind: CorporateActionCandidate['kind'] = !m ? 'demerger_or_special_dividend' : m.factor < 1 ? 'reverse_split' : 'split_or_bonus';
      out.push({
        symbol: p.symbols[s]!, day: p.day[i]!, prev_close: prev, close: c, move, implied_factor: implied,
        factor: m ? m.factor : implied, kind, label: m ? m.label : 'no common ratio: demerger / spin-off, special dividend — or a real price move (price-ratio factor)', volume_ratio: vr,
      });
    }
  }
  return out;
}

/** A factor table (CSV text: date,symbol,factor) of candidates, for the contract's `adjustment.factors.file`. */
export function factorTableCsv(cands: readonly CorporateActionCandidate[], isoDate: (day: number) => string): string {
  return ['date,symbol,factor', ...cands.map((c) => `${isoDate(c.day)},${c.symbol},${Number(c.factor.toPrecision(12))}`)].join('\n') + '\n';
}

/** Thresholds of {@link neutralisations} (from the `corporate_action` audit rule). */
export interface NeutraliseOptions {
  /** The opening gap ln(open/prev_close) must carry at least this share of the day's move ln(close/prev_close). */
  min_gap_share: number;
  /** |ln(close/open)| on the ex-date must be at most this share of |ln(open/prev_close)|. */
  max_intraday_share: number;
}

/** One corporate action the curated view neutralises (prices before `day` divided by `price_factor`). */
export interface Neutralisation {
  symbol: string;
  /** Ex-date (days since 1970-01-01). */
  day: number;
  kind: CorporateActionCandidate['kind'];
  label: string;
  /** Divisor of every price before the ex-date: the matched share ratio, or prev_close / open for a demerger. */
  price_factor: number;
  /** Multiplier of every volume before the ex-date: the share ratio for a split/bonus/consolidation, 1 otherwise. */
  volume_factor: number;
  /** ln(open / prev_close), ln(close / prev_close) and ln(close / open) of the ex-date. */
  gap: number;
  move: number;
  intraday: number;
}

/**
 * Which corporate-action candidates the curated view neutralises (issue 14, item 10). An ex-date
 * price-level change (a spin-off, a special or share dividend, a split) happens at the open: the
 * opening gap carries the whole one-day move and the ex-date's open-to-close move is ordinary. A
 * crash on news does not look like that as a rule (it moves during the day too), so a candidate is
 * neutralised when |gap| ≥ min_gap_share·|move| and |intraday| ≤ max_intraday_share·|gap|; the others
 * are kept, with the reason, for review (a dataset contract's factor table can still adjust them).
 * Demergers divide earlier prices by prev_close/open, so the ex-date's open-to-close move stays real
 * P&L; matched share ratios divide prices by the ratio and multiply volumes by it. On the shipped S&P
 * data this neutralises NI 2015-07-02, EBAY 2015-07-20, BAX 2015-07-01 and DISCA/DISCK 2014-08-07, and
 * keeps the CHK, EVHC and SIG crashes (and the ARNC and BHGE events, whose ex-dates move intraday too).
 */
export function neutralisations(p: PanelColumns, cands: readonly CorporateActionCandidate[], o: NeutraliseOptions): { applied: Neutralisation[]; kept: { symbol: string; day: number; reason: string }[] } {
  const sym = new Map(p.symbols.map((s, i) => [s, i]));
  const applied: Neutralisation[] = [];
  const kept: { symbol: string; day: number; reason: string }[] = [];
  for (const c of cands) {
    const s = sym.get(c.symbol)!;
    let r = -1;
    for (let i = p.start[s]!; i < p.end[s]!; i++) if (p.day[i] === c.day) r = i;
    const open = r >= 0 ? p.open[r]! : NaN;
    if (!(open > 0)) {
      kept.push({ symbol: c.symbol, day: c.day, reason: 'no open on the ex-date: the gap cannot be told from the intraday move' });
      continue;
    }
    const gap = Math.log(open / c.prev_close);
    const move = Math.log(c.close / c.prev_close);
    const intraday = Math.log(c.close / open);
    if (!(Math.abs(gap) >= o.min_gap_share * Math.abs(move) && Math.abs(intraday) <= o.max_intraday_share * Math.abs(gap))) {
      kept.push({ symbol: c.symbol, day: c.day, reason: `not an ex-date level change: opening gap ${(100 * gap).toFixed(1)}% of a ${(100 * move).toFixed(1)}% day, open→close ${(100 * intraday).toFixed(1)}% (a move on news is real P&L)` });
      continue;
    }
    const shares = c.kind !== 'demerger_or_special_dividend';
    applied.push({ symbol: c.symbol, day: c.day, kind: c.kind, label: c.label, price_factor: shares ? c.factor : c.prev_close / open, volume_factor: shares ? c.factor : 1, gap, move, intraday });
  }
  return { applied, kept };
}
