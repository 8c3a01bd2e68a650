import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ArtifactStore } from '../../artifacts/store.ts';
import { dailyIc, dateBlocks, summarizeIc } from '../../cv/metrics.ts';
import { queryRows, sqlString, withDuckDB } from '../../lib/duckdb.ts';
import { headlineFigures } from '../../report/headline.ts';
import { tempDir } from '../support/context.ts';
import { nightlyRunFixture, type RunFixture } from '../tracking/support/fixtures.ts';

/** Independent pooled IC over every (path, date) of an OOF table, with cv/metrics.ts. */
async function pooledIc(file: string) {
  const rows = await withDuckDB((con) => queryRows<{ path: number; date: Date; score: number; label: number }>(con, `SELECT path, date, score, label FROM read_parquet(${sqlString(file)}) ORDER BY path, date, symbol`));
  const keys = [...new Set(rows.map((r) => `${r.path}|${r.date.getTime()}`))];
  const idx = new Map(keys.map((k, i) => [k, i]));
  const blocks = dateBlocks(Int32Array.from(rows.map((r) => idx.get(`${r.path}|${r.date.getTime()}`)!)), keys.length);
  const d = dailyIc(blocks, rows.map((r) => r.score), rows.map((r) => r.label));
  return summarizeIc(d.ic, d.rankIc);
}

describe('headline figures by contract', () => {
  const store = new ArtifactStore(path.join(tempDir('trademl-headline-'), 'artifacts'));
  let fx: RunFixture;
  beforeAll(async () => {
    fx = await nightlyRunFixture(store, { approval: 'approved' });
  });

  it('lists signal IC, backtest Sharpe by path, the sizing decision and the gate bars of a passing run', async () => {
    const figures = new Map(await headlineFigures(fx.steps, store));
    const ic = await pooledIc(store.path(fx.refs.oof!));
    expect(figures.get('OOF IC / rank IC / ICIR [h5]')).toBe(`${ic.ic.toFixed(4)} / ${ic.rank_ic.toFixed(4)} / ${ic.icir.toFixed(4)}  (7 paths, 12 trials; walk-forward rank IC ${(await pooledIc(store.path(fx.refs.oof_wf!))).rank_ic.toFixed(4)})`);
    expect(figures.get('net Sharpe by CPCV path')).toBe('p1 0.50  p2 0.60  p3 0.70  p4 0.80  p5 0.90  p6 1.00  p7 1.10');
    expect(figures.get('gross Sharpe by CPCV path')).toBe('p1 0.90  p2 1.00  p3 1.10  p4 1.20  p5 1.30  p6 1.40  p7 1.50');
    expect(figures.get('walk-forward net Sharpe')).toBe('0.42');
    expect(figures.get('median max drawdown / annual turnover')).toBe('0.1300 / 43.0×');
    expect(figures.get('OPE (offline RL sizing)')).toMatch(/^accepted: learned iql policy/);
    expect(figures.get('DSR')).toBe('0.9700 (bar >= 0.95) pass');
    expect(figures.get('PSR')).toBe('0.9900 (bar >= 0.9, info) pass');
    expect(figures.get('PBO')).toBe('0.2200 (bar <= 0.5) pass');
    expect(figures.get('gate verdict')).toBe('PASSED — proposed for approval');
  });

  it('shows a failed gate from its error details', async () => {
    const failed = await nightlyRunFixture(store, { gatePassed: false });
    const figures = new Map(await headlineFigures(failed.steps, store));
    expect(figures.get('PBO')).toBe('0.6100 (bar <= 0.5) FAIL');
    expect(figures.get('gate verdict')).toBe('FAILED (pbo) — no approval asked, no alias changed');
  });

  it('does not depend on kind names, and lists every signal and backtest provided', async () => {
    const renamed = await nightlyRunFixture(store, { approval: 'approved', renameKinds: (u) => `other.${u.replace(/\W/g, '_')}` });
    expect(await headlineFigures(renamed.steps, store)).toEqual(await headlineFigures(fx.steps, store));

    const two = await nightlyRunFixture(store, { approval: 'approved', twoSleeves: true });
    const second = { ...two.steps.find((s) => s.stepId === 'backtest')!, stepId: 'backtest_tb' };
    const labels = (await headlineFigures([...two.steps, second], store)).map(([k]) => k);
    expect(labels.filter((k) => k.startsWith('OOF IC'))).toEqual(['OOF IC / rank IC / ICIR [h5]', 'OOF IC / rank IC / ICIR [tb]', 'OOF IC / rank IC / ICIR [stack = blend of h5, tb]']);
    expect(labels).toEqual(expect.arrayContaining(['net Sharpe by CPCV path [backtest]', 'net Sharpe by CPCV path [backtest_tb]']));
    expect(await headlineFigures([{ stepId: 'a', uses: 'noop', status: 'succeeded', outputs: { sharpe: 3 } }], store)).toEqual([]);
  });
});
