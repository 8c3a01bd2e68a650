import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDatasetContract } from '../../data/contract.ts';
import { ingestOhlcv } from '../../data/ingest/ohlcv.ts';
import { hasSharedData } from '../../lib/paths.ts';
import { copySp500, ingestAndAudit, newStore, projectWith, q, spContract, spLines, tempDir } from './helpers.ts';

/**
 * Issue 16's data defects, each failing on the code as it was: silent universe loss (header-only
 * file, every row quarantined, key collision across files), a manifest hash of other bytes than
 * those parsed, a FIFO that hung the ingest and a link out of the data root whose content was
 * printed, CSV errors without the file name, absurd values ingested as valid.
 */

const SYMBOLS = ['AAPL', 'MSFT', 'XOM', 'JPM', 'KO', 'PG', 'T', 'GE', 'IBM', 'INTC', 'CSCO', 'PFE', 'MRK', 'WMT', 'HD', 'DIS', 'MCD', 'NKE', 'PEP', 'ABT'];
const GLOB = 'sp500_all_stocks_5yr/individual_stocks_5yr/{symbol}_data.csv';

/** A copy of 20 shipped files and a project declaring them. */
function setup(over: Record<string, unknown> = {}, symbols = SYMBOLS) {
  const { root, dir } = copySp500(symbols);
  const project = projectWith([spContract('u20', GLOB, { symbols, ...over }), spContract('cols', 'sp500_all_stocks_5yr/individual_stocks_5yr/*_data.csv', over)]);
  return { root, dir, project };
}

describe.skipIf(!hasSharedData())('issue 16 #3: no silent universe loss', () => {
  it('a header-only file of a declared symbol: the symbol is lost and counted missing, every date AMBER by coverage (19/20)', async () => {
    const { root, dir, project } = setup();
    writeFileSync(path.join(dir, 'KO_data.csv'), 'date,open,high,low,close,volume,Name\n');
    const { ing, audit, report } = await ingestAndAudit(project, root, 'u20');
    expect(ing.lost_symbols).toEqual(['KO']);
    expect(ing.quarantined_files).toEqual([expect.objectContaining({ code: 'no_data_rows', symbol: 'KO' })]);
    expect(audit.status).toBe('AMBER');
    expect(audit.lost_symbols).toEqual(['KO']);
    expect(audit.amber).toBe(1259);
    const d = report.per_date.find((x) => x.date === '2016-03-08')!;
    expect(d).toMatchObject({ alive: 20, present: 19, coverage: 0.95, status: 'AMBER' });
    expect(report.universe.lost).toEqual([expect.objectContaining({ symbol: 'KO', expected_because: 'declared', reasons: ['no_data_rows'], quarantined: true })]);
  });

  it('a lost symbol in a 5-name universe turns its dates RED (coverage 0.8 < amber_coverage)', async () => {
    const five = SYMBOLS.slice(0, 5);
    const { root, dir, project } = setup({ source: { files: GLOB, max_failed_file_share: 0.5 } }, five);
    writeFileSync(path.join(dir, 'XOM_data.csv'), 'date,open,high,low,close,volume,Name\n');
    const { audit } = await ingestAndAudit(project, root, 'u20');
    expect(audit.status).toBe('RED');
    expect(audit.red).toBe(1259);
    expect(audit.red_reasons.map((r) => r.rule)).toContain('missing_day');
  });

  it('a symbol whose every row is quarantined is lost and counted missing on its dates', async () => {
    const { root, dir, project } = setup();
    const lines = spLines('PG');
    writeFileSync(path.join(dir, 'PG_data.csv'), [lines[0], ...lines.slice(1).map((l) => l.replace(/^([^,]*),([^,]*),([^,]*),([^,]*),([^,]*),/, '$1,$2,$3,$4,0,'))].join('\n') + '\n');
    const { ing, audit, report } = await ingestAndAudit(project, root, 'u20');
    expect(ing.quarantined_by_rule).toEqual({ non_positive_price: 1259 });
    expect(ing.lost_symbols).toEqual(['PG']);
    expect(audit.status).toBe('AMBER');
    expect(report.universe.lost[0]).toMatchObject({ symbol: 'PG', first_date: '2013-02-08', last_date: '2018-02-07', reasons: ['non_positive_price'] });
    expect(report.per_date.every((x) => x.alive === 20)).toBe(true);
  });

  it('a key collision across files (MSFT rows with other values inside the XOM file) drops ten MSFT dates: they are AMBER, not GREEN', async () => {
    // thresholds under which one name of twenty missing is still GREEN by coverage (as one of 505 is with the defaults)
    const { root, dir, project } = setup({ audit: { status: { green_coverage: 0.9, amber_coverage: 0.8 } } });
    const before = await ingestAndAudit(project, root, 'cols');
    const msft = spLines('MSFT').slice(100, 110).map((l) => l.replace(/,(\d+),MSFT$/, (_, v) => `,${Number(v) + 1},MSFT`));
    writeFileSync(path.join(dir, 'XOM_data.csv'), readFileSync(path.join(dir, 'XOM_data.csv'), 'utf8') + msft.join('\n') + '\n');
    const { ing, audit } = await ingestAndAudit(project, root, 'cols');
    expect(ing.quarantined_by_rule).toEqual({ conflicting_duplicate: 20 });
    const dates = msft.map((l) => l.slice(0, 10));
    expect(dates.some((d) => before.audit.amber_dates.includes(d))).toBe(false);
    expect(audit.amber_dates).toEqual([...before.audit.amber_dates, ...dates].sort());
    expect(audit.status).toBe('AMBER');
    // with the symbol in the file name the foreign rows are caught at their source instead
    const named = await ingestAndAudit(project, root, 'u20');
    expect(named.ing.quarantined_by_rule).toEqual({ symbol_mismatch: 10 });
    expect(named.audit.amber_dates).toEqual(before.audit.amber_dates);
  });
});

describe.skipIf(!hasSharedData())('issue 16 #7, #10, #13: safe reading, exact hashes, named errors, plausible values', () => {
  it('the manifest hashes exactly the bytes that were parsed, even when the file changes during the ingest', async () => {
    const { root, dir, project } = setup();
    const file = path.join(dir, 'AAPL_data.csv');
    const a = readFileSync(file);
    const b = Buffer.from(a.toString('utf8').replace(/^(2013-02-08,[^,]+,[^,]+,[^,]+),67\.8542,/m, '$1,99.9999,'));
    expect(b.equals(a)).toBe(false);
    const store = newStore();
    const pending = ingestOhlcv(loadDatasetContract(project, 'u20'), { store, dataRoot: root });
    writeFileSync(file, b); // the scan has read the file; DuckDB has not started yet
    const r = await pending;
    const m = store.readJson<{ sources: { path: string; sha256: string }[] }>(r.manifest);
    const src = m.sources.find((s) => s.path.endsWith('AAPL_data.csv'))!;
    expect(src.sha256).toBe('sha256:' + createHash('sha256').update(a).digest('hex'));
    const row = await q<{ close: number }>(store, r.table, `SELECT close FROM $T WHERE symbol = 'AAPL' AND date = DATE '2013-02-08'`);
    expect(row).toEqual([{ close: 67.8542 }]); // the bytes hashed, not the bytes on disk now
  });

  it('a FIFO does not hang the ingest and a link out of the data root is neither read nor printed', async () => {
    const { root, dir } = setup();
    execFileSync('mkfifo', [path.join(dir, 'ZZZ_data.csv')]);
    const outside = path.join(tempDir('trademl-outside-'), 'secret.csv');
    writeFileSync(outside, 'date,open,high,low,close,volume,Name\nTOP-SECRET-LINE,1,1,1,1,1,X\n');
    symlinkSync(outside, path.join(dir, 'LEAK_data.csv'));
    mkdirSync(path.join(dir, 'DIR_data.csv'));
    const p = projectWith([spContract('u', GLOB, { source: { files: GLOB, max_failed_file_share: 0.2 } })]);
    const store = newStore();
    const r = await ingestOhlcv(loadDatasetContract(p, 'u'), { store, dataRoot: root });
    const byCode = Object.fromEntries(r.quarantined_files.map((f) => [f.symbol, f.code]));
    expect(byCode).toEqual({ ZZZ: 'not_regular_file', LEAK: 'link_outside_root', DIR: 'not_regular_file' });
    expect(r.symbols).toBe(20);
    const everything = JSON.stringify(r) + JSON.stringify(store.readJson(r.manifest)) + JSON.stringify(await q(store, r.quarantine, 'SELECT * FROM $T'));
    expect(everything).not.toContain('TOP-SECRET');
    expect(r.quarantined_files.find((f) => f.symbol === 'ZZZ')!.reason).toMatch(/ZZZ_data\.csv is not a regular file \(a FIFO \(named pipe\)\); it was not read/);
  });

  it('CSV parser errors name the file and the line, and quote at most a short escaped excerpt', async () => {
    const { root, dir, project } = setup({ source: { files: GLOB, max_failed_file_share: 0.2 } });
    const edit = (s: string, i: number, fn: (l: string) => string) => {
      const lines = spLines(s);
      lines[i] = fn(lines[i]!);
      writeFileSync(path.join(dir, `${s}_data.csv`), lines.join('\n') + '\n');
    };
    edit('KO', 7, (l) => l.replace(/,(\d+)\.(\d+),/, ',$1"9"$2,')); // quotes inside an unquoted field
    edit('PG', 9, (l) => l.replace(/^([^,]+),/, '"$1"x,')); // text after a closing quote
    edit('T', 4, (l) => `${l},\u001b[31mred${'x'.repeat(200)}`); // an extra field with a terminal escape
    const { ing } = await ingestAndAudit(project, root, 'u20');
    const reason = (s: string) => ing.quarantined_files.find((f) => f.symbol === s)!.reason;
    expect(reason('KO')).toMatch(/^source file sp500_all_stocks_5yr\/individual_stocks_5yr\/KO_data\.csv line 8: a quote inside an unquoted field/);
    expect(reason('PG')).toMatch(/PG_data\.csv line 10: text after the closing quote/);
    expect(reason('T')).toMatch(/T_data\.csv line 5: 8 field\(s\), expected 7 — malformed record; fix or remove this line: ".{40,70}"…$/);
    expect(reason('T')).toContain('\\u001b[31m');
    expect(reason('T')).not.toContain('\u001b');
  });

  it('absurd values are quarantined with the rule and the bound: close 1e308, volume 1e29, a date in 2031, NaN', async () => {
    const { root, dir, project } = setup();
    const lines = spLines('IBM');
    const set = (i: number, col: number, v: string) => {
      const f = lines[i]!.split(',');
      f[col] = v;
      lines[i] = f.join(',');
    };
    set(3, 4, '1e308');
    set(5, 5, '1e29');
    set(7, 4, 'NaN');
    lines.push('2031-01-02,150,151,149,150,1000,IBM');
    writeFileSync(path.join(dir, 'IBM_data.csv'), lines.join('\n') + '\n');
    const { ing, store } = await ingestAndAudit(project, root, 'u20', newStore(), new Date('2026-12-01T12:00:00Z'));
    expect(ing.quarantined_by_rule).toEqual({ out_of_bounds: 2, date_out_of_range: 1, unparseable: 1 });
    const rows = await q<{ rule: string; line: bigint; detail: string }>(store, ing.quarantine, `SELECT rule, line, detail FROM $T ORDER BY line`);
    expect(rows.map((r) => [r.rule, Number(r.line)])).toEqual([['out_of_bounds', 4], ['out_of_bounds', 6], ['unparseable', 8], ['date_out_of_range', 1261]]);
    expect(rows[3]!.detail).toMatch(/date 2031-01-02 outside \[1900-01-01, 2026-12-02\]/);
    expect(rows[0]!.detail).toMatch(/bounds\.max_price 1000000000/);
  });
});
