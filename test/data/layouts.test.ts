import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { hasSharedData } from '../../lib/paths.ts';
import { copySp500, ingestAndAudit, projectWith, q, spContract, spLines, tempDir } from './helpers.ts';

/**
 * Real shipped S&P files rearranged into each layout a user brings: one file per symbol without a
 * symbol column (Yahoo-style names and column order, header case differs), one file per date
 * (bhavcopy style: many symbols per file, the date only in the file name), one long file. All give
 * the same table and curated panel, bit for bit, as the shipped per-symbol files.
 */

// Late starters (APTV, HPE), names that miss days (BMY, ORCL), empty opens (DHR, REGN), the AOS
// high<low row, the LNT bad print, the EBAY spin-off — plus enough names for market adjustment.
const SYMBOLS = ['AAPL', 'AOS', 'APTV', 'BMY', 'DHR', 'EBAY', 'HPE', 'LNT', 'ORCL', 'REGN', 'MSFT', 'XOM', 'JPM', 'KO', 'PG', 'T', 'GE', 'IBM', 'INTC', 'CSCO', 'PFE', 'MRK', 'WMT', 'HD'];

interface Row { date: string; open: string; high: string; low: string; close: string; volume: string; name: string }

function rowsOf(symbol: string): Row[] {
  return spLines(symbol).slice(1).map((l) => {
    const [date, open, high, low, close, volume, name] = l.split(',');
    return { date: date!, open: open!, high: high!, low: low!, close: close!, volume: volume!, name: name! };
  });
}

describe.skipIf(!hasSharedData())('layouts: per symbol without a symbol column, per date, one long file', () => {
  const base = copySp500(SYMBOLS);
  const data = tempDir('trademl-layouts-');
  const all = SYMBOLS.flatMap(rowsOf);
  const project = projectWith([
    spContract('base', 'sp500_all_stocks_5yr/individual_stocks_5yr/{symbol}_data.csv'),
    {
      name: 'yahoo', kind: 'ohlcv', calendar: 'nyse',
      source: { files: 'yahoo/{symbol}.csv' },
      columns: { date: 'Date', open: 'Open', high: 'High', low: 'Low', close: 'Close', volume: 'Volume' },
    },
    {
      name: 'bhav', kind: 'ohlcv', calendar: 'nyse',
      source: { files: 'bhav/cm{date}bhav.csv', file_date_format: '%Y%m%d', delimiter: ';' },
      columns: { symbol: 'SYMBOL', open: 'OPEN', high: 'HIGH', low: 'LOW', close: 'CLOSE', volume: 'TOTTRDQTY' },
    },
    spContract('long', 'long/all_stocks.csv', { columns: { date: ' Date ', symbol: 'ticker', open: 'Open', high: 'High', low: 'Low', close: 'Close', volume: 'Volume' } }),
  ]);
  let ref: Awaited<ReturnType<typeof ingestAndAudit>>;

  beforeAll(async () => {
    mkdirSync(path.join(data, 'yahoo'));
    for (const s of SYMBOLS) {
      const rows = rowsOf(s);
      writeFileSync(path.join(data, 'yahoo', `${s}.csv`), ['Date,Close,High,Low,Open,Volume', ...rows.map((r) => [r.date, r.close, r.high, r.low, r.open, r.volume].join(','))].join('\n') + '\n');
    }
    mkdirSync(path.join(data, 'bhav'));
    const byDate = new Map<string, Row[]>();
    for (const r of all) byDate.set(r.date, [...(byDate.get(r.date) ?? []), r]);
    for (const [d, rows] of byDate) {
      const text = ['SYMBOL;SERIES;OPEN;HIGH;LOW;CLOSE;TOTTRDQTY', ...rows.map((r) => [r.name, 'EQ', r.open, r.high, r.low, r.close, r.volume].join(';'))].join('\r\n');
      writeFileSync(path.join(data, 'bhav', `cm${d.replaceAll('-', '')}bhav.csv`), text + '\r\n');
    }
    mkdirSync(path.join(data, 'long'));
    const shuffled = [...all].sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : a.name < b.name ? 1 : -1)); // date-major, names descending
    writeFileSync(path.join(data, 'long', 'all_stocks.csv'), ['ticker, Date ,Open,High,Low,Close,Volume', ...shuffled.map((r) => [r.name, r.date, r.open, r.high, r.low, r.close, r.volume].join(','))].join('\n') + '\n');
    ref = await ingestAndAudit(project, base.root, 'base');
  });

  it('the reference: 24 shipped files', () => {
    expect(ref.ing).toMatchObject({ symbols: 24, quarantined_files: [], lost_symbols: [], quarantined_by_rule: { high_below_low: 1 } });
    expect(ref.audit.lost_symbols).toEqual([]);
  });

  it.each([
    ['yahoo', 'per_symbol', 'file_name', 24],
    ['bhav', 'per_date', 'column', 1259],
    ['long', 'long', 'column', 1],
  ])('%s layout gives the identical table and curated panel', async (name, layout, symbolSource, files) => {
    const r = await ingestAndAudit(project, data, name);
    const m = r.store.readJson<{ layout: string; symbol_source: string; sources: unknown[] }>(r.ing.manifest);
    expect(m).toMatchObject({ layout, symbol_source: symbolSource });
    expect(m.sources).toHaveLength(files);
    expect(r.ing.quarantined_files).toEqual([]);
    expect(r.ing.rows).toBe(ref.ing.rows);
    expect(r.ing.table.digest).toBe(ref.ing.table.digest);
    expect(r.audit.curated.digest).toBe(ref.audit.curated.digest);
    expect(r.audit.status).toBe(ref.audit.status);
    const aos = await q<{ rule: string; date: string; symbol: string }>(r.store, r.ing.quarantine, `SELECT rule, date, symbol FROM $T`);
    expect(aos).toEqual([{ rule: 'high_below_low', date: '2014-05-19', symbol: 'AOS' }]);
  });

  it('a fixed symbol for a single-instrument file; a per-date file whose rows name another date is caught (date_mismatch)', async () => {
    mkdirSync(path.join(data, 'one'));
    writeFileSync(path.join(data, 'one', 'prices.csv'), readFileSync(path.join(data, 'yahoo', 'AAPL.csv')));
    mkdirSync(path.join(data, 'bhav2'));
    writeFileSync(path.join(data, 'bhav2', '2016-03-08.csv'), 'symbol,date,open,high,low,close,volume\nAAPL,2016-03-08,100,102,99,101,1000\nMSFT,2016-03-09,50,51,49,50,1000\n');
    const p = projectWith([
      { name: 'one', kind: 'ohlcv', calendar: 'nyse', symbol: 'AAPL', source: { files: 'one/prices.csv' }, columns: { date: 'Date', open: 'Open', high: 'High', low: 'Low', close: 'Close', volume: 'Volume' } },
      { name: 'bhav2', kind: 'ohlcv', calendar: 'nyse', source: { files: 'bhav2/{date}.csv' }, columns: { date: 'date', symbol: 'symbol', open: 'open', high: 'high', low: 'low', close: 'close', volume: 'volume' } },
    ]);
    const one = await ingestAndAudit(p, data, 'one');
    const aapl = await q<{ n: number }>(ref.store, ref.ing.table, `SELECT count(*)::INTEGER AS n FROM $T WHERE symbol = 'AAPL'`);
    expect(one.ing).toMatchObject({ symbols: 1, rows: aapl[0]!.n });
    const b2 = await ingestAndAudit(p, data, 'bhav2');
    expect(b2.ing).toMatchObject({ rows: 1, quarantined_by_rule: { date_mismatch: 1 } });
  });

  it('a missing column names the closest header the file has', async () => {
    const p = projectWith([{ name: 'typo', kind: 'ohlcv', calendar: 'nyse', source: { files: 'yahoo/{symbol}.csv', max_failed_file_share: 1 }, columns: { date: 'Date', open: 'Open', high: 'High', low: 'Low', close: 'Adj Close', volume: 'Volume' } }]);
    const e = await ingestAndAudit(p, data, 'typo').catch((x: Error) => x);
    expect((e as Error).message).toMatch(/no usable source file \(24 of 24 failed their contract\):\n  - source file yahoo\/AAPL\.csv line 1: no column "Adj Close" \(columns\.close\) in the header \["Date", "Close", .*\]; closest header: "Close"/);
  });
});
