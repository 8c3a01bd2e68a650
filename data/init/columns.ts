import { foldHeader, normalizeHeaderName } from '../headers.ts';

/**
 * Guessing what a delimited file's columns are, for `trademl data init`: the delimiter of the
 * header line, a quote-aware field splitter, and the canonical OHLCV column each header name
 * most likely holds (vendor spellings: Yahoo, NSE/BSE bhavcopies, Kaggle, exchange downloads).
 */

/** Canonical fields `data init` maps. */
export type InitField = 'date' | 'symbol' | 'open' | 'high' | 'low' | 'close' | 'adj_close' | 'volume';

/** Header spellings by field, compared case-folded (first match wins, exact before containment). */
export const SYNONYMS: Record<InitField, string[]> = {
  date: ['date', 'timestamp', 'datetime', 'trade_date', 'tradedate', 'trade date', 'date_time', 'day', 'dt', 'time'],
  symbol: ['symbol', 'ticker', 'name', 'tradingsymbol', 'trading symbol', 'sc_code', 'sc_name', 'scrip', 'security', 'instrument', 'code'],
  open: ['open', 'open price', 'open_price', 'opening price', 'openprice', 'o'],
  high: ['high', 'high price', 'high_price', 'highprice', 'h'],
  low: ['low', 'low price', 'low_price', 'lowprice', 'l'],
  close: ['close', 'close price', 'close_price', 'closing price', 'closeprice', 'last', 'last price', 'ltp', 'price', 'c'],
  adj_close: ['adj close', 'adj_close', 'adjusted close', 'adjusted_close', 'adjclose', 'adj. close'],
  volume: ['volume', 'vol', 'tottrdqty', 'total traded quantity', 'shares traded', 'no. of shares', 'qty', 'quantity', 'v'],
};

/** The delimiter of a header line: the most frequent of , ; TAB | (comma on ties). */
export function detectDelimiter(line: string): string {
  const cands = [',', ';', '\t', '|'];
  let best = ',';
  let n = 0;
  for (const d of cands) {
    const k = line.split(d).length - 1;
    if (k > n) {
      best = d;
      n = k;
    }
  }
  return best;
}

/** Splits one CSV record (RFC 4180 quotes: `"a,b"`, `""` inside quotes). */
export function splitRecord(line: string, delim: string): string[] {
  const out: string[] = [];
  let cur = '';
  let q = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (q) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') q = false;
      else cur += ch;
    } else if (ch === '"' && cur === '') q = true;
    else if (ch === delim) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur.replace(/\r$/, ''));
  return out;
}

/**
 * The header index of each canonical field: an exact synonym first, then a header containing a
 * price word (`spot_close` for close, never `prev close`), then — for close only — the single
 * numeric column left when open, high and low are mapped (e.g. `india_vix`). Returns the indices
 * and which fields were guessed by the looser rules.
 */
export function mapHeader(header: string[], numeric: (i: number) => boolean): { map: Partial<Record<InitField, number>>; guessed: InitField[] } {
  const folded = header.map((h) => foldHeader(normalizeHeaderName(h)));
  const map: Partial<Record<InitField, number>> = {};
  const used = new Set<number>();
  const take = (f: InitField, i: number) => {
    map[f] = i;
    used.add(i);
  };
  const order: InitField[] = ['adj_close', 'date', 'symbol', 'open', 'high', 'low', 'close', 'volume'];
  for (const f of order) {
    const i = SYNONYMS[f].map((s) => folded.indexOf(s)).find((x) => x >= 0 && !used.has(x));
    if (i !== undefined) take(f, i);
  }
  const guessed: InitField[] = [];
  for (const f of ['open', 'high', 'low', 'close'] as const) {
    if (map[f] !== undefined) continue;
    const i = folded.findIndex((h, k) => !used.has(k) && h.includes(f) && !/prev|adj|chg|change/.test(h) && numeric(k));
    if (i >= 0) {
      take(f, i);
      guessed.push(f);
    }
  }
  if (map.close === undefined && map.open !== undefined && map.high !== undefined && map.low !== undefined) {
    const rest = folded.map((_, k) => k).filter((k) => !used.has(k) && numeric(k));
    if (rest.length === 1) {
      take('close', rest[0]!);
      guessed.push('close');
    }
  }
  return { map, guessed };
}
