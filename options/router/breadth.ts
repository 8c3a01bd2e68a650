/**
 * Market breadth from a daily equities panel:
 *   advance/decline ratio A/D = (# names with close_t > close_{t−1}) / (# with close_t < close_{t−1})
 *   TRIN (Arms index, Arms 1967) = (advancers / decliners) / (advancing volume / declining volume)
 * Unchanged names count in neither. NaN when there are no decliners (or no declining volume).
 * Point in time: the value of date t uses closes and volumes of t and of each name's previous row.
 */

/** One name on one date (close in currency units, volume in shares). */
export interface PanelBar {
  date: string;
  symbol: string;
  close: number;
  volume: number | null;
}

/** Breadth of one date. */
export interface BreadthRow {
  date: string;
  advancers: number;
  decliners: number;
  adRatio: number;
  trin: number;
}

/** A/D ratio and TRIN per date of a panel (bars in any order; output ascending by date). */
export function breadth(panel: readonly PanelBar[]): BreadthRow[] {
  const bySymbol = new Map<string, PanelBar[]>();
  for (const b of panel) (bySymbol.get(b.symbol) ?? bySymbol.set(b.symbol, []).get(b.symbol)!).push(b);
  const acc = new Map<string, { a: number; d: number; av: number; dv: number }>();
  for (const bars of bySymbol.values()) {
    bars.sort((x, y) => (x.date < y.date ? -1 : 1));
    for (let i = 1; i < bars.length; i++) {
      const b = bars[i]!;
      const e = acc.get(b.date) ?? acc.set(b.date, { a: 0, d: 0, av: 0, dv: 0 }).get(b.date)!;
      if (b.close > bars[i - 1]!.close) [e.a, e.av] = [e.a + 1, e.av + (b.volume ?? 0)];
      else if (b.close < bars[i - 1]!.close) [e.d, e.dv] = [e.d + 1, e.dv + (b.volume ?? 0)];
    }
  }
  return [...acc.entries()]
    .sort((x, y) => (x[0] < y[0] ? -1 : 1))
    .map(([date, e]) => ({
      date, advancers: e.a, decliners: e.d, adRatio: e.d > 0 ? e.a / e.d : NaN,
      trin: e.d > 0 && e.dv > 0 && e.av > 0 ? e.a / e.d / (e.av / e.dv) : NaN,
    }));
}

/**
 * The breadth filter of the router: risk-off when A/D < `adMin` or TRIN > `trinMax` (heavy volume in
 * decliners); then only long-volatility strategies may trade. Returns null when breadth is unavailable.
 */
export function riskOff(b: { adRatio: number; trin: number } | undefined, adMin = 0.8, trinMax = 1.3): boolean | null {
  if (!b || !Number.isFinite(b.adRatio) || !Number.isFinite(b.trin)) return null;
  return b.adRatio < adMin || b.trin > trinMax;
}
