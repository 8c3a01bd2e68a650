/**
 * The fill rule of the labels: when a signal computed from the data of date t (information ≤ the
 * close C_t) is traded. A label must start at the fill, never at the print the signal was computed
 * from: trained and judged from C_t, a model learns the bid–ask bounce of that print, which it could
 * not trade (López de Prado, AFML ch. 3.2 and 2.4: the label is the outcome of the position taken
 * after the observation; the issue-14 review measured a 5-day reversal at gross Sharpe 0.69 filled
 * at C_t against 0.29 at the next open).
 *
 * - `next_open` (default): filled at the next session's open O_{t+1} (a market-on-open order placed
 *   after the close of t).
 * - `close`: filled at the next session's close C_{t+1} (a later close: a market-on-close order of
 *   the next session). Never the signal's own close C_t.
 *
 * Rows are sessions of the symbol: "the next session" is the symbol's next row.
 */
export type EntryRule = 'next_open' | 'close';

/** The entry rules the labels kinds accept, default first. */
export const ENTRY_RULES = ['next_open', 'close'] as const satisfies readonly EntryRule[];

/** SQL of the price column (OHLCV canonical names) an entry rule fills at, on the fill bar. */
export function entryPriceColumn(entry: EntryRule): 'open' | 'close' {
  return entry === 'next_open' ? 'open' : 'close';
}
