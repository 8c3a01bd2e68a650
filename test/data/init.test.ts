import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkDataset, renderCheck } from '../../data/check.ts';
import { loadDatasetContract, type OhlcvContract } from '../../data/contract.ts';
import { draftContract, writeDraft } from '../../data/init/index.ts';
import { symbolPattern } from '../../data/init/names.ts';
import { ingestOhlcv } from '../../data/ingest/ohlcv.ts';
import { dataRoot, hasSharedData } from '../../lib/paths.ts';
import { ingestAndAudit, newStore, projectWith, q, spLines, tempDir } from './helpers.ts';

describe('data init: file-name patterns', () => {
  it('finds the symbol before a common suffix, digits masked', () => {
    expect(symbolPattern(['AAPL_data.csv', 'A_data.csv', 'MSFT_data.csv'])).toEqual({ pattern: '{symbol}_data.csv', symbols: ['AAPL', 'A', 'MSFT'] });
    expect(symbolPattern(['NIFTY_50_2000_2022.csv', 'nifty50_yf_2015_2025.csv'])?.pattern).toBe('{symbol}_20??_202?.csv');
    expect(symbolPattern(['a.csv', 'b.csv'])?.pattern).toBe('{symbol}.csv');
  });
});

describe.skipIf(!hasSharedData())('trademl data init / data check', () => {
  it('drafts a contract for the India index files that ingests without edits', async () => {
    const project = projectWith();
    const d = await draftContract({ projectRoot: project, dataRoot: dataRoot(), folder: 'india_indices' });
    writeDraft(project, d);
    expect(() => writeDraft(project, d)).toThrow(/exists; choose another --name or pass --force/);
    const c = loadDatasetContract(project, 'india_indices').contract as OhlcvContract;
    expect(c).toMatchObject({ kind: 'ohlcv', calendar: 'nse', date_format: ['%Y-%m-%d', '%d-%b-%Y'], columns: { date: 'Date', close: ['Close', 'india_vix'] } });
    expect(c.source.exclude).toEqual(['india_indices/nse_index_volatility_2012_2026.csv']);
    expect(d.excluded).toEqual([{ file: 'india_indices/nse_index_volatility_2012_2026.csv', reason: 'it has a symbol column and the other files do not' }]);
    expect(d.yaml).toMatch(/# calendar: nse \(dates agree 99\.\d+% with the nse calendar/);
    expect(d.yaml).toMatch(/# numeric types: open decimal, high decimal, low decimal, close decimal, volume integer/);
    const store = newStore();
    const r = await ingestOhlcv(loadDatasetContract(project, 'india_indices'), { store, dataRoot: dataRoot() });
    expect(r.quarantined_files).toEqual([]);
    expect(r.symbols).toBe(7);
    expect(r.quarantined_by_rule).toEqual({ non_positive_price: 4 }); // the India VIX rows with zero opens (DATA.md)
    const check = await checkDataset(project, dataRoot(), store, 'india_indices');
    const text = renderCheck('india_indices', check);
    expect(text).toMatch(/^dataset india_indices: (RED|AMBER|GREEN) — 26001 rows, 7 symbols/);
    expect(text).toMatch(/row quarantined \(non_positive_price\): india_indices\/INDIA_VIX_2010_2022\.csv:2626/);
  });

  it('drafts a Yahoo-style folder (no symbol column, AAPL unadjusted before its 7:1 split, Adj Close adjusted) and maps Adj Close over raw prices', async () => {
    const data = tempDir('trademl-init-');
    mkdirSync(path.join(data, 'yahoo'));
    for (const s of ['AAPL', 'MSFT', 'KO']) {
      const rows = spLines(s).slice(1).map((l) => l.split(','));
      const f = s === 'AAPL' ? (d: string) => (d < '2014-06-09' ? 7 : 1) : () => 1;
      const body = rows.map(([d, o, h, lo, c, v]) => [d, c, Number(c) * f(d!), Number(h) * f(d!), Number(lo) * f(d!), o === '' ? '' : Number(o) * f(d!), v].join(','));
      writeFileSync(path.join(data, 'yahoo', `${s}.csv`), ['Date,Adj Close,Close,High,Low,Open,Volume', ...body].join('\n') + '\n');
    }
    const d = await draftContract({ projectRoot: projectWith(), dataRoot: data, folder: 'yahoo', name: 'yahoo_three' });
    expect(d.yaml).toMatch(/files: yahoo\/\{symbol\}\.csv/);
    expect(d.yaml).toMatch(/adj_close: Adj Close/);
    expect(d.yaml).toMatch(/# adjustment: raw \(an adjusted-close column is present/);
    expect(d.yaml).toMatch(/# calendar: nyse/);
    const project = projectWith();
    writeDraft(project, d);
    const { ing, audit, store } = await ingestAndAudit(project, data, 'yahoo_three');
    expect(ing).toMatchObject({ symbols: 3, quarantined_files: [] });
    // the curated view is the adjusted series: AAPL before the split at the Adj Close level, high/low/open scaled alike
    const row = await q<{ open: number; high: number; low: number; close: number }>(store, audit.curated, `SELECT open, high, low, close FROM $T WHERE symbol = 'AAPL' AND date = DATE '2014-06-06'`);
    const shipped = spLines('AAPL').find((l) => l.startsWith('2014-06-06'))!.split(',').slice(1, 5).map(Number);
    expect(row[0]!.close).toBeCloseTo(shipped[3]!, 9);
    expect(row[0]!.high).toBeCloseTo(shipped[1]!, 9);
    expect(readFileSync(path.join(project, 'configs', 'data', 'yahoo_three.yml'), 'utf8')).toMatch(/^# Draft dataset contract/);
  });

  it('refuses a folder without CSV files, naming it', async () => {
    const data = tempDir('trademl-init-');
    mkdirSync(path.join(data, 'empty'));
    await expect(draftContract({ projectRoot: projectWith(), dataRoot: data, folder: 'empty' })).rejects.toThrow(/no \.csv\/\.txt\/\.tsv files in .*empty/);
  });
});
