/**
 * Dense date × symbol panel of daily prices (row-major: index = t·N + i).
 * Missing cells are NaN. `dates` are ISO `YYYY-MM-DD` strings in ascending order.
 */
export interface PricePanel {
  dates: string[];
  symbols: string[];
  T: number;
  N: number;
  open: Float64Array;
  close: Float64Array;
  /** Shares traded. */
  volume: Float64Array;
}

/** Builds a panel from column arrays (used by loaders and tests). Throws on duplicate (date, symbol). */
export function panelFromRows(rows: { date: string; symbol: string; open: number; close: number; volume: number }[]): PricePanel {
  const dates = [...new Set(rows.map((r) => r.date))].sort();
  const symbols = [...new Set(rows.map((r) => r.symbol))].sort();
  const di = new Map(dates.map((d, i) => [d, i]));
  const si = new Map(symbols.map((s, i) => [s, i]));
  const T = dates.length;
  const N = symbols.length;
  const open = new Float64Array(T * N).fill(NaN);
  const close = new Float64Array(T * N).fill(NaN);
  const volume = new Float64Array(T * N).fill(NaN);
  for (const r of rows) {
    const k = di.get(r.date)! * N + si.get(r.symbol)!;
    if (!Number.isNaN(close[k]!)) throw new Error(`duplicate price row for ${r.symbol} on ${r.date}`);
    open[k] = r.open ?? NaN;
    close[k] = r.close ?? NaN;
    volume[k] = r.volume ?? NaN;
  }
  return { dates, symbols, T, N, open, close, volume };
}
