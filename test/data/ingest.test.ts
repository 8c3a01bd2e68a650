import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ArtifactRef } from '../../artifacts/store.ts';
import { calendarDates, easterSunday, nyseHolidays } from '../../calendar/sessions.ts';
import { listDatasets, loadDatasetContract } from '../../data/contract.ts';
import { ingestIndex } from '../../data/ingest/index-daily.ts';
import { ingestKlines } from '../../data/ingest/klines.ts';
import { ingestLob } from '../../data/ingest/lob.ts';
import { ingestOhlcv } from '../../data/ingest/ohlcv.ts';
import { ingestOptionsChain } from '../../data/ingest/options.ts';
import { queryRows, sqlString, withDuckDB } from '../../lib/duckdb.ts';
import { UserError } from '../../lib/errors.ts';
import { sha256File } from '../../lib/hash.ts';
import { dataRoot, hasSharedData, PROJECT_ROOT } from '../../lib/paths.ts';
import { copySp500, newStore, projectWith, q, spContract, storeObjects, tempDir } from './helpers.ts';

describe('dataset contracts and calendar', () => {
  it('every shipped contract loads and validates', () => {
    const names = listDatasets(PROJECT_ROOT);
    expect(names).toEqual(expect.arrayContaining(['sp500_all_stocks_5yr', 'sp500_subset', 'nse_nifty_options_eod', 'crypto_binance_spot_1h', 'lob_lobster_samples', 'india_indices']));
    for (const n of names) expect(loadDatasetContract(PROJECT_ROOT, n).contract.name).toBe(n);
  });

  it('names the file, line, column and field of a contract mistake', () => {
    const root = tempDir();
    mkdirSync(path.join(root, 'configs', 'data'), { recursive: true });
    writeFileSync(path.join(root, 'configs', 'data', 'bad.yml'), 'name: bad\nkind: ohlcv\nsource:\n  files: x/*.csv\n  header: 7\ncolumns: { date: d }\n');
    expect(() => loadDatasetContract(root, 'bad')).toThrow(UserError);
    expect(() => loadDatasetContract(root, 'bad')).toThrow(/bad\.yml:5:3 source\.header/);
    expect(() => loadDatasetContract(root, 'nope')).toThrow(/no dataset contract "nope".*known datasets: bad/);
  });

  it.skipIf(!hasSharedData())('NYSE calendar equals the 1,259 S&P trading dates', async () => {
    const cal = calendarDates('nyse', '2013-02-08', '2018-02-07');
    expect(cal).toHaveLength(1259);
    const dates = await withDuckDB((con) =>
      queryRows<{ d: string }>(con, `SELECT DISTINCT date AS d FROM read_csv(${sqlString(path.join(dataRoot(), 'sp500_all_stocks_5yr', 'individual_stocks_5yr', 'A*_data.csv'))}, header=true, all_varchar=true) ORDER BY 1`),
    );
    expect(dates.map((r) => r.d)).toEqual(cal);
  });

  it('NYSE calendar rules: Good Friday, observed holidays', () => {
    expect(easterSunday(2016)).toBe('2016-03-27');
    expect(nyseHolidays(2015)).toEqual(['2015-01-01', '2015-01-19', '2015-02-16', '2015-04-03', '2015-05-25', '2015-07-03', '2015-09-07', '2015-11-26', '2015-12-25']);
    expect(nyseHolidays(2022)).toContain('2022-06-20'); // Juneteenth on a Sunday → Monday
    expect(nyseHolidays(2022)).not.toContain('2021-12-31'); // Saturday New Year's Day is not observed
  });
});

describe.skipIf(!hasSharedData())('ingest of the shipped datasets (row counts from DATA.md)', () => {
  const store = newStore();
  const env = { store, dataRoot: dataRoot() };

  it('sp500_subset: the declared 60 names only', async () => {
    const r = await ingestOhlcv(loadDatasetContract(PROJECT_ROOT, 'sp500_subset'), env);
    expect(r).toMatchObject({ symbols: 60, dates: 1259, rows: 60 * 1259 - 4, quarantined: 0 });
  });

  it('NSE options: 119,874 unique rows of 126,526, C/P, INR turnover, underlying filled', async () => {
    const r = await ingestOptionsChain(loadDatasetContract(PROJECT_ROOT, 'nse_nifty_options_eod'), env);
    expect(r).toMatchObject({ rows_in: 126_526, rows: 119_874, duplicates: 6_652, dates: 243, expiries: 11, quarantined: 0 });
    const s = await q<{ ce: number; pe: number; settle: number; oi: number; noUv: number; t: number }>(store, r.table, `
      SELECT count(*) FILTER (WHERE option_type = 'C')::INTEGER AS ce, count(*) FILTER (WHERE option_type = 'P')::INTEGER AS pe,
             count(settle)::INTEGER AS settle, count(open_interest)::INTEGER AS oi, count(DISTINCT date) FILTER (WHERE underlying_value IS NULL)::INTEGER AS "noUv",
             max(turnover / premium_turnover)::DOUBLE AS t FROM $T`);
    // 23 of the 243 dates carry no Underlying Value on any row (DATA.md: checked on 220 dates); every other row is filled
    expect(s[0]).toMatchObject({ ce: 59_878, pe: 59_996, settle: 118_750, oi: 105_418, noUv: 23 });
    const mixed = await q<{ n: number }>(store, r.table, `SELECT count(*)::INTEGER AS n FROM (SELECT date FROM $T GROUP BY date HAVING count(underlying_value) BETWEEN 1 AND count(*) - 1)`);
    expect(mixed[0]!.n).toBe(0);
    expect(s[0]!.t).toBeGreaterThan(0);
    const row = await q<{ strike: number; close: number; expiry: string }>(store, r.table,
      `SELECT strike, close, strftime(expiry, '%Y-%m-%d') AS expiry FROM $T WHERE date = DATE '2025-06-26' AND expiry = DATE '2025-06-26' AND option_type = 'C' AND strike = 26300`);
    expect(row).toEqual([{ strike: 26300, close: 0.2, expiry: '2025-06-26' }]);
  });

  it('Binance 1h: 33,413 unique hours per symbol; older vintage superseded; bogus first bar quarantined', async () => {
    const r = await ingestKlines(loadDatasetContract(PROJECT_ROOT, 'crypto_binance_spot_1h'), env);
    expect(r.unique_bars_by_symbol).toEqual({ BTCUSDT: 33_413, ETHUSDT: 33_413 });
    expect(r.rows_by_symbol).toEqual({ BTCUSDT: 33_412, ETHUSDT: 33_412 });
    expect(r.quarantined_by_rule).toEqual({ duplicate_superseded: 2 * 2_649, implausible_bar: 2 });
    expect(r.first_ts).toBe('2017-08-17T05:00:00Z');
    const first = await q<{ ts: string; open: number }>(store, r.quarantine, `SELECT symbol, date, raw FROM $T WHERE rule = 'implausible_bar' ORDER BY symbol`);
    expect(first.map((x) => JSON.parse((x as unknown as { raw: string }).raw).open)).toEqual(['16199.91', '652.74']);
    const gaps = await q<{ n: number }>(store, r.table, `SELECT count(*)::INTEGER AS n FROM (SELECT ts - lag(ts) OVER (PARTITION BY symbol ORDER BY ts) AS d FROM $T) WHERE d > INTERVAL 1 HOUR`);
    expect(gaps[0]!.n).toBeGreaterThan(0); // the exchange outages stay visible as gaps
    const dup = await q<{ n: number }>(store, r.table, `SELECT count(*)::INTEGER AS n FROM (SELECT symbol, ts FROM $T GROUP BY ALL HAVING count(*) > 1)`);
    expect(dup[0]!.n).toBe(0);
  });

  it('LOBSTER: 20,000 GOOG + 999 AAPL events, UTC timestamps, prices in USD', async () => {
    const r = await ingestLob(loadDatasetContract(PROJECT_ROOT, 'lob_lobster_samples'), env);
    expect(r.sessions).toEqual([
      { symbol: 'AAPL', date: '2012-06-21', levels: 10, events: 999 },
      { symbol: 'GOOG', date: '2012-06-21', levels: 5, events: 20_000 },
    ]);
    expect(r).toMatchObject({ events: 20_999, book_rows: 999 * 10 + 20_000 * 5, quarantined: 0 });
    const m = await q<{ ts: string; price: number }>(store, r.messages, `SELECT strftime(ts, '%Y-%m-%d %H:%M:%S.%g') AS ts, price FROM $T WHERE symbol = 'GOOG' AND seq = 1`);
    expect(m).toEqual([{ ts: '2012-06-21 13:30:00.015', price: 579.4 }]); // 09:30 EDT = 13:30 UTC; 5794000 / 10000
  });

  it('India indices: NSE sources preferred, Yahoo extends after 2022-08, zero-open VIX rows quarantined', async () => {
    const r = await ingestIndex(loadDatasetContract(PROJECT_ROOT, 'india_indices'), env);
    expect(r.symbols).toBe(3);
    expect(r.quarantined_by_rule).toMatchObject({ non_positive_price: 4 });
    const s = await q<{ symbol: string; first: string; last: string; src: string }>(store, r.table,
      `SELECT symbol, strftime(min(date), '%Y-%m-%d') AS first, strftime(max(date), '%Y-%m-%d') AS last, max(source) FILTER (WHERE date = DATE '2020-01-02') AS src FROM $T GROUP BY symbol ORDER BY symbol`);
    expect(s).toEqual([
      { symbol: 'INDIA VIX', first: '2010-07-19', last: '2026-07-31', src: 'india_indices/INDIA_VIX_2010_2022.csv' },
      { symbol: 'NIFTY 50', first: '2000-01-03', last: '2025-12-30', src: 'india_indices/NIFTY_50_2000_2022.csv' },
      { symbol: 'NIFTY BANK', first: '2000-01-01', last: '2025-12-30', src: 'india_indices/NIFTY_BANK_2000_2022.csv' },
    ]);
  });
});

describe.skipIf(!hasSharedData())('a bad file is quarantined alone, or stops the ingest when the contract allows no failed file', () => {
  const { root, dir } = copySp500();
  const edit = (file: string, fn: (b: Buffer) => Buffer) => {
    const p = path.join(dir, file);
    const orig = readFileSync(p);
    writeFileSync(p, fn(orig));
    return () => writeFileSync(p, orig);
  };
  const small = copySp500(['MMM', 'KO', 'PG', 'T', 'AAPL', 'MSFT', 'XOM', 'JPM', 'GE', 'IBM']);
  const editSmall = (file: string, fn: (b: Buffer) => Buffer) => {
    const p = path.join(small.dir, file);
    const orig = readFileSync(p);
    writeFileSync(p, fn(orig));
    return () => writeFileSync(p, orig);
  };
  const strict = projectWith([spContract('sp_strict', 'sp500_all_stocks_5yr/individual_stocks_5yr/{symbol}_data.csv', { source: { files: 'sp500_all_stocks_5yr/individual_stocks_5yr/{symbol}_data.csv', header: ['date', 'open', 'high', 'low', 'close', 'volume', 'Name'], max_failed_file_share: 0 } })]);

  it('one malformed file among the 505 S&P files: the other 504 ingest and the bad one is listed with its reason', async () => {
    const undo = edit('KO_data.csv', (b) => Buffer.from(b.toString('utf8').replace('date,open,high,low,close,volume,Name', 'date,open,high,low,close,volume,Name,date,open,high,low,close,volume,Name')));
    try {
      const store = newStore();
      const r = await ingestOhlcv(loadDatasetContract(PROJECT_ROOT, 'sp500_all_stocks_5yr'), { store, dataRoot: root });
      expect(r.symbols).toBe(504);
      expect(r.rows).toBe(619_039 - 1259);
      expect(r.quarantined_files).toHaveLength(1);
      expect(r.quarantined_files[0]).toMatchObject({ path: 'sp500_all_stocks_5yr/individual_stocks_5yr/KO_data.csv', code: 'wrong_header', line: 1, symbol: 'KO' });
      expect(r.quarantined_files[0]!.reason).toMatch(/KO_data\.csv line 1: wrong header \["date", "open", .*\(same names, other order or count\)/);
      expect(r.lost_symbols).toEqual(['KO']);
      const m = store.readJson<{ quarantined_files: unknown[]; sources: unknown[] }>(r.manifest);
      expect(m.quarantined_files).toEqual(r.quarantined_files);
      expect(m.sources).toHaveLength(504);
      const qrow = await q<{ rule: string; detail: string }>(store, r.quarantine, `SELECT rule, detail FROM $T WHERE source_file LIKE '%KO_data.csv'`);
      expect(qrow).toEqual([{ rule: 'file_quarantined', detail: expect.stringMatching(/^wrong_header: /) }]);
    } finally {
      undo();
    }
  });

  it('with source.max_failed_file_share 0, each bad file stops the ingest with one clear error naming file and line, leaving the store as it was', async () => {
    const store = newStore();
    const run = () => ingestOhlcv(loadDatasetContract(strict, 'sp_strict'), { store, dataRoot: small.root });
    const good = await run();
    const before = storeObjects(store.root);
    const expectFail = async (re: RegExp, undo: () => void) => {
      const e = await run().then(() => null, (x: unknown) => x as { message: string; nonRetryable?: boolean });
      undo();
      expect(e, String(re)).not.toBeNull();
      expect(e!.message).toMatch(re);
      expect(e!.message).toMatch(/1 of 10 source files failed their contract .* > source.max_failed_file_share 0.0%/);
      expect(e!.nonRetryable).toBe(true);
      expect(storeObjects(store.root)).toEqual(before);
      expect(readdirSync(path.join(store.root, 'tmp'))).toEqual([]);
    };
    await expectFail(/MMM_data\.csv line 1260: \d field\(s\), expected 7 — the file looks truncated/, editSmall('MMM_data.csv', (b) => b.subarray(0, b.length - 30)));
    await expectFail(/KO_data\.csv line 1: wrong header \["Date", "Open", "High", "Low", "Close", "Adj Close", "Volume"\]; .*\(missing: date, volume, Name\)|missing: Name/,
      editSmall('KO_data.csv', (b) => Buffer.from(b.toString('utf8').replace('date,open,high,low,close,volume,Name', 'Date,Open,High,Low,Close,Adj Close,Volume'))));
    await expectFail(/PG_data\.csv is not valid UTF-8: line 3, byte \d+ \(0xe9\)/, editSmall('PG_data.csv', (b) => {
      const lines = b.toString('utf8').split('\n');
      lines[2] = lines[2]!.replace(',PG', ',P\u00e9G');
      return Buffer.from(lines.join('\n'), 'latin1');
    }));
    await expectFail(/T_data\.csv line 11: 8 field\(s\), expected 7 — malformed record/, editSmall('T_data.csv', (b) => {
      const lines = b.toString('utf8').split('\n');
      lines[10] = lines[10] + ',extra';
      return Buffer.from(lines.join('\n'));
    }));
    for (const k of ['table', 'quarantine', 'manifest'] as const) {
      const ref = good[k] as ArtifactRef;
      expect(await sha256File(store.path(ref))).toBe(ref.digest);
    }
  });

  it('an empty source folder is an error naming the folder', async () => {
    const empty = tempDir();
    mkdirSync(path.join(empty, 'sp500_all_stocks_5yr', 'individual_stocks_5yr'), { recursive: true });
    const e = await ingestOhlcv(loadDatasetContract(PROJECT_ROOT, 'sp500_all_stocks_5yr'), { store: newStore(), dataRoot: empty }).catch((x: Error) => x);
    expect((e as Error).message).toMatch(/source glob "sp500_all_stocks_5yr\/individual_stocks_5yr\/\{symbol\}_data\.csv" matches no files in .*individual_stocks_5yr \(empty folder/);
    rmSync(empty, { recursive: true, force: true });
  });

  it('unparseable values and conflicting duplicates go to the quarantine with rule, raw values, file and line', async () => {
    const xom = readFileSync(path.join(dir, 'XOM_data.csv'), 'utf8').split('\n');
    const undo = edit('XOM_data.csv', () => {
      const lines = [...xom];
      lines[5] = lines[5]!.replace(/^([^,]+),([^,]+),/, '$1,abc,'); // open "abc"
      const body = lines.join('\n');
      return Buffer.from(body + xom[20]!.replace(/,(\d+),XOM$/, ',1,XOM') + '\n' + xom[30]! + '\n'); // same key other volume; exact duplicate
    });
    try {
      const store = newStore();
      const r = await ingestOhlcv(loadDatasetContract(PROJECT_ROOT, 'sp500_all_stocks_5yr'), { store, dataRoot: root });
      expect(r).toMatchObject({ quarantined_by_rule: { high_below_low: 1, unparseable: 1, conflicting_duplicate: 2 }, duplicates: 1, rows: 619_039 - 1 - 1 });
      const rows = await q<{ rule: string; line: bigint; raw: string }>(store, r.quarantine, `SELECT rule, line, raw FROM $T WHERE source_file LIKE '%XOM_data.csv' ORDER BY line`);
      expect(rows.map((x) => [x.rule, Number(x.line)])).toEqual([['unparseable', 6], ['conflicting_duplicate', 21], ['conflicting_duplicate', 1261]]);
      expect(JSON.parse(rows[0]!.raw).open).toBe('abc');
    } finally {
      undo();
    }
  });
});
