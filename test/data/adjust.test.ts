import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { matchRatio } from '../../data/corporate-actions.ts';
import { hasSharedData } from '../../lib/paths.ts';
import { copySp500, ingestAndAudit, projectWith, q, spContract, spLines } from './helpers.ts';

/**
 * Adjusted and unadjusted prices on real splits: AAPL 7:1 (ex-date 2014-06-09) and NFLX 7:1
 * (2015-07-15) are back-adjusted in the shipped files; un-adjusting them (prices before the
 * ex-date × 7, volumes ÷ 7) gives the raw series a vendor without adjustment delivers. The audit
 * must detect both splits with their ratio, and with the factor table the curated view must give
 * back the adjusted series.
 */

const SPLITS = { AAPL: '2014-06-09', NFLX: '2015-07-15' } as const;
const OTHERS = ['MSFT', 'XOM', 'JPM', 'KO', 'PG', 'T', 'GE', 'IBM', 'INTC', 'CSCO', 'PFE', 'MRK', 'WMT', 'HD', 'DIS', 'MCD', 'NKE', 'PEP', 'ABT', 'AMGN'];
const GLOB = 'sp500_all_stocks_5yr/individual_stocks_5yr/{symbol}_data.csv';

/** Rewrites a shipped file as the unadjusted series: rows before `exDate` get prices × f and volume ÷ f. */
function unadjust(dir: string, symbol: string, exDate: string, f: number): void {
  const [head, ...rows] = spLines(symbol);
  const out = rows.map((l) => {
    const [d, o, h, lo, c, v, n] = l.split(',');
    if (d! >= exDate) return l;
    const px = (x: string) => (x === '' ? '' : String(Number(x) * f));
    return [d, px(o!), px(h!), px(lo!), px(c!), String(Number(v) / f), n].join(',');
  });
  writeFileSync(path.join(dir, `${symbol}_data.csv`), [head, ...out].join('\n') + '\n');
}

describe.skipIf(!hasSharedData())('corporate actions in unadjusted prices: AAPL and NFLX 7:1 splits', () => {
  const symbols = [...Object.keys(SPLITS), ...OTHERS];
  const shipped = copySp500(symbols);
  const raw = copySp500(symbols);
  for (const [s, d] of Object.entries(SPLITS)) unadjust(raw.dir, s, d, 7);
  writeFileSync(path.join(raw.root, 'factors.csv'), 'Date,Symbol,Factor\n2014-06-09,AAPL,7\n2015-07-15,NFLX,7\n');
  const project = projectWith([
    spContract('adjusted', GLOB, { adjustment: { prices: 'split_adjusted' } }),
    spContract('raw', GLOB, { adjustment: { prices: 'raw' } }),
    spContract('raw_factors', GLOB, { adjustment: { prices: 'raw', factors: { file: 'factors.csv' } } }),
  ]);
  let base: Awaited<ReturnType<typeof ingestAndAudit>>;
  let unadj: Awaited<ReturnType<typeof ingestAndAudit>>;

  beforeAll(async () => {
    base = await ingestAndAudit(project, shipped.root, 'adjusted');
    unadj = await ingestAndAudit(project, raw.root, 'raw');
  });

  it('matches common split and bonus ratios in log terms', () => {
    expect(matchRatio(645.57 / 93.7, 0.03)?.factor).toBe(7);
    expect(matchRatio(2.01, 0.03)?.label).toMatch(/2:1 split \/ 1:1 bonus/);
    expect(matchRatio(3, 0.03)?.label).toMatch(/2:1 bonus/);
    expect(matchRatio(0.1, 0.03)?.label).toMatch(/1:10 reverse split/);
    expect(matchRatio(1.8, 0.03)).toBeUndefined();
  });

  it('the unadjusted series shows both splits as 7:1 candidates on their ex-dates, with the draft factor table', () => {
    const c = unadj.report.corporate_actions.candidates.filter((x) => x.kind === 'split_or_bonus');
    expect(c.map((x) => [x.symbol, x.date, x.factor, x.label])).toEqual([
      ['AAPL', '2014-06-09', 7, '7:1 split'],
      ['NFLX', '2015-07-15', 7, '7:1 split'],
    ]);
    expect(unadj.report.corporate_actions.factor_table_csv).toContain('2014-06-09,AAPL,7\n');
    expect(unadj.report.corporate_actions.factor_table_csv).toContain('2015-07-15,NFLX,7\n');
    expect(base.report.corporate_actions.candidates.filter((x) => x.kind === 'split_or_bonus')).toEqual([]);
  });

  it('with the factor table, the curated view gives back the adjusted series (prices and volumes)', async () => {
    const fixed = await ingestAndAudit(project, raw.root, 'raw_factors');
    const m = fixed.store.readJson<{ adjustment: { prices: string; factors: { rows: number; symbols: number } } }>(fixed.ing.manifest);
    expect(m.adjustment).toMatchObject({ prices: 'raw', factors: { rows: 2, symbols: 2 } });
    expect(fixed.report.corporate_actions.candidates.filter((x) => x.kind === 'split_or_bonus')).toEqual([]);
    const cols = 'symbol, date, open, high, low, close, volume';
    const a = await q<Record<string, number | string | null>>(base.store, base.audit.curated, `SELECT ${cols} FROM $T ORDER BY symbol, date`);
    const b = await q<Record<string, number | string | null>>(fixed.store, fixed.audit.curated, `SELECT ${cols} FROM $T ORDER BY symbol, date`);
    expect(b.length).toBe(a.length);
    let worst = 0;
    a.forEach((r, i) => {
      expect(b[i]!.symbol).toBe(r.symbol);
      for (const k of ['open', 'high', 'low', 'close', 'volume']) {
        const x = r[k] as number | null;
        const y = b[i]![k] as number | null;
        if (x === null || y === null) expect(y).toBe(x);
        else worst = Math.max(worst, Math.abs(y / x - 1));
      }
    });
    expect(worst).toBeLessThan(1e-12);
    // the audit ran on the adjusted series: the split days are no outliers or corporate actions any more
    expect(fixed.audit.flags_by_rule).toEqual(base.audit.flags_by_rule);
  });

  it('a broken factor table stops the ingest naming its file and line', async () => {
    writeFileSync(path.join(raw.root, 'factors.csv'), 'date,symbol,factor\n2014-06-09,AAPL,7\n2015-07-15,NFLX,-7\n');
    const e = await ingestAndAudit(project, raw.root, 'raw_factors').catch((x: Error) => x);
    expect((e as Error).message).toMatch(/adjustment factor table factors\.csv line 3: factor is not a finite number > 0/);
  });
});
