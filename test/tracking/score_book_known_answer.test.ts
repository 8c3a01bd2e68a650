import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ArtifactStore, type ArtifactRef } from '../../artifacts/store.ts';
import { signalsOof } from '../../contracts/index.ts';
import { portfolioBuild } from '../../kinds/backtest/portfolio_build.ts';
import type { AnyStepKind } from '../../kinds/types.ts';
import { costConfigSchema } from '../../execution/cost_models.ts';
import { loadConfig } from '../../lib/config.ts';
import { queryRows, sqlString, withDuckDB } from '../../lib/duckdb.ts';
import { digestJson } from '../../lib/hash.ts';
import { hasSharedData, PROJECT_ROOT } from '../../lib/paths.ts';
import { portfolioConfigSchema } from '../../portfolio/config.ts';
import { BookStore, scoreDate, tradeSetupFor, type TradeSetup } from '../../tracking/score.ts';
import { auditStep, providerOutputs, signalValue } from '../backtest/fixtures.ts';
import { makeTestContext, runKind, tempDir } from '../support/context.ts';
import { TEST_SYMBOLS, writeSp500Slice } from '../support/sp500.ts';
import { featureRegistry, linearOnnx } from './support/fixtures.ts';

const d = hasSharedData() ? describe : describe.skip;
if (!hasSharedData()) console.warn('SKIPPING score known-answer tests: shared S&P data not found');

type Row = { date: string; symbol: string; score: number | null; weight: number };

/**
 * Known answer (issue 14, deployed = gated): `trademl score`'s book for a date equals the
 * portfolio.build book of the backtest for that date, given the same scores; prices after the date
 * never change it. Real S&P slice (30 names, 2015–2016), the fixture's linear ONNX scorer on the
 * checked-in equities features, a portfolio config whose vol target and Kelly leave warm-up within
 * the scored days, trade rate 0.3 (partial rebalancing from the held book).
 */
d('score = the backtested book (real S&P slice, 30 names)', () => {
  const dir = tempDir('score-known-');
  const store = new ArtifactStore(path.join(dir, 'store'));
  const portfolioFile = path.join(dir, 'portfolio.yml');
  const reg = featureRegistry();
  const weightsOf = reg.feature_names.map((n) => (n === 'mom_20' ? 0.6 : n === 'rvol_20' ? -0.4 : n === 'boll_20' ? -0.2 : 0.05));
  let curated: ArtifactRef;
  let model: { onnx: string; featureList: string };
  let setup: TradeSetup;
  let dates: string[];
  const chain: Row[] = [];
  const results: Awaited<ReturnType<typeof scoreDate>>[] = [];

  const score = (o: { date: string; ohlcv: string; home: string; fresh?: boolean; out: string }) =>
    scoreDate({ model: 'm', version: '1', onnxPath: model.onnx, featureListPath: model.featureList, ohlcvPath: o.ohlcv, calendar: 'nyse', date: o.date, projectRoot: PROJECT_ROOT, outDir: o.out, setup, books: new BookStore(o.home, store), fresh: o.fresh });
  const readRows = (file: string) => withDuckDB((con) => queryRows<Row>(con, `SELECT strftime(date, '%Y-%m-%d') AS date, symbol, score, weight FROM read_parquet(${sqlString(file)}) ORDER BY symbol`));

  beforeAll(async () => {
    const file = await writeSp500Slice(path.join(dir, 'curated.parquet'), TEST_SYMBOLS, { from: '2015-01-01', to: '2016-12-31' });
    curated = await store.putFile(file, { name: 'curated.parquet', move: false });
    const onnx = path.join(dir, 'model.onnx');
    writeFileSync(onnx, linearOnnx(weightsOf, 0.01));
    const featureList = path.join(dir, 'feature_list.json');
    writeFileSync(featureList, JSON.stringify(reg));
    model = { onnx, featureList };
    writeFileSync(
      portfolioFile,
      ['per_name_cap: 0.08', 'trade_rate: 0.3', 'vol_target: { enabled: true, annual: 0.10, window: 63, min_obs: 5 }', 'kelly: { enabled: true, fraction: 0.5, window: 126, min_obs: 6, prior_sharpe: 1.0 }', 'max_leverage: 3.0', ''].join('\n'),
    );
    // The registered version's lineage names a gate report that records the trade setup it gated with.
    const portfolio = loadConfig(PROJECT_ROOT, portfolioFile, portfolioConfigSchema);
    const costs = loadConfig(PROJECT_ROOT, 'configs/costs.yml', costConfigSchema);
    const gateReport = await store.putJson({ passed: true, trade_setup: { source: 'the backtest metrics', execution: 'next_open', portfolio, costs } }, 'gate_report.json');
    setup = tradeSetupFor({ lineage: { gate: { step: 'gate', passed: true }, datasets: { 'gate.verdict.report': gateReport.digest } }, store, projectRoot: PROJECT_ROOT, portfolioPath: 'configs/portfolio.yml', costsPath: 'configs/costs.yml' });
    dates = (await withDuckDB((con) => queryRows<{ d: string }>(con, `SELECT DISTINCT strftime(date, '%Y-%m-%d') AS d FROM read_parquet(${sqlString(file)}) WHERE date >= DATE '2016-06-01' ORDER BY d LIMIT 12`))).map((r) => r.d);
    // Twelve trading days in order, each from the book held after the previous one (the OHLCV runs to 2016-12-31).
    const home = path.join(dir, 'home');
    for (const [k, date] of dates.entries()) {
      const r = await score({ date, ohlcv: store.path(curated), home, out: path.join(dir, 'scores', date) });
      results.push(r);
      expect(r.book.start).toBe(k === 0 ? 'flat' : 'held');
      chain.push(...(await readRows(r.files.weights)));
    }
  }, 240_000);

  it('reads the trade setup from the gate report the model passed and records its digest', () => {
    expect(setup.source).toMatch(/^the gate report the model passed \(gate\.verdict\.report, sha256:/);
    expect(setup.portfolio.trade_rate).toBe(0.3);
    expect(setup.config_digest).toBe(digestJson(loadConfig(PROJECT_ROOT, portfolioFile, portfolioConfigSchema)));
    expect(results[0]!.book).toMatchObject({ start: 'flat', config_digest: setup.config_digest, trade_rate: 0.3, execution: 'next_open' });
    expect(results[0]!.book.note).toMatch(/starts from flat/);
  });

  it("each day's weights equal portfolio.build's weights of the backtested book for that date (≤ 1e-12), given the same scores", async () => {
    // The scores `score` produced, as a signal (one CPCV path and the walk-forward path), through the real portfolio.build step.
    const oofFile = path.join(dir, 'oof.parquet');
    const wfFile = path.join(dir, 'oof_wf.parquet');
    const csv = path.join(dir, 'scores.csv');
    writeFileSync(csv, 'date,symbol,score\n' + chain.filter((r) => r.score !== null).map((r) => `${r.date},${r.symbol},${r.score}`).join('\n') + '\n');
    await withDuckDB(async (con) => {
      const src = `read_csv(${sqlString(csv)}, header=true, columns={'date':'DATE','symbol':'VARCHAR','score':'DOUBLE'})`;
      await con.run(`COPY (SELECT CAST(1 AS INTEGER) AS path, date, symbol, score FROM ${src} ORDER BY date, symbol) TO ${sqlString(oofFile)} (FORMAT parquet)`);
      await con.run(`COPY (SELECT CAST(0 AS INTEGER) AS path, date, symbol, score FROM ${src} ORDER BY date, symbol) TO ${sqlString(wfFile)} (FORMAT parquet)`);
    });
    const signal = signalValue({ sleeve: 'm', oof: await store.putFile(oofFile, { name: 'oof.parquet', move: false }), walkForward: await store.putFile(wfFile, { name: 'oof_wf.parquet', move: false }), nPaths: 1 });
    const kind = portfolioBuild as unknown as AnyStepKind;
    const upstream = { audit: auditStep(curated), fit: { uses: 'stack.oof', outputs: providerOutputs('stack.oof', [[signalsOof, signal]]), needs: ['audit'] } };
    const pb = (await runKind(kind, { portfolio: portfolioFile }, makeTestContext({ store, kind, upstream }))) as { weights: ArtifactRef; config_digest: string };
    expect(pb.config_digest).toBe(setup.config_digest);
    const built = await withDuckDB((con) => queryRows<{ path: number; date: string; symbol: string; weight: number }>(con, `SELECT path, strftime(date, '%Y-%m-%d') AS date, symbol, weight FROM read_parquet(${sqlString(store.path(pb.weights))})`));
    for (const p of [0, 1]) {
      const gated = new Map(built.filter((r) => r.path === p).map((r) => [`${r.date}|${r.symbol}`, r.weight]));
      let maxDiff = 0;
      let n = 0;
      for (const date of dates) {
        const ours = new Map(chain.filter((r) => r.date === date).map((r) => [r.symbol, r.weight]));
        for (const sym of new Set([...ours.keys(), ...TEST_SYMBOLS])) {
          maxDiff = Math.max(maxDiff, Math.abs((ours.get(sym) ?? 0) - (gated.get(`${date}|${sym}`) ?? 0)));
          n++;
        }
      }
      expect(n).toBeGreaterThan(dates.length * 25);
      expect(maxDiff).toBeLessThanOrEqual(1e-12);
    }
    // The book is the gated construction: smoothed from the held book, sized by the held book's returns.
    expect(results.at(-1)!.book.vol_leverage).not.toBeNull();
    expect(results.at(-1)!.book.leverage).not.toBe(1);
    expect(results[1]!.book.turnover).toBeLessThan(results[0]!.book.turnover);
  });

  it('prices after the scored date do not change its scores or weights', async () => {
    const date = dates[4]!;
    const src = store.path(curated);
    const truncated = path.join(dir, 'upto.parquet');
    const poisoned = path.join(dir, 'poisoned.parquet');
    await withDuckDB(async (con) => {
      await con.run(`COPY (SELECT * FROM read_parquet(${sqlString(src)}) WHERE date <= DATE '${date}' ORDER BY symbol, date) TO ${sqlString(truncated)} (FORMAT parquet)`);
      // After the date: closes ×3, opens/highs/lows scrambled, volumes ×100 — any look-ahead would move the book.
      await con.run(`COPY (SELECT date, symbol,
          CASE WHEN date > DATE '${date}' THEN open * 0.2 ELSE open END AS open, CASE WHEN date > DATE '${date}' THEN high * 5 ELSE high END AS high,
          CASE WHEN date > DATE '${date}' THEN low * 0.1 ELSE low END AS low, CASE WHEN date > DATE '${date}' THEN close * 3 ELSE close END AS close,
          CASE WHEN date > DATE '${date}' THEN volume * 100 ELSE volume END AS volume
        FROM read_parquet(${sqlString(src)}) ORDER BY symbol, date) TO ${sqlString(poisoned)} (FORMAT parquet)`);
    });
    const a = await score({ date, ohlcv: truncated, home: path.join(dir, 'home-a'), fresh: true, out: path.join(dir, 'a') });
    const b = await score({ date, ohlcv: poisoned, home: path.join(dir, 'home-b'), fresh: true, out: path.join(dir, 'b') });
    const c = await score({ date, ohlcv: src, home: path.join(dir, 'home-c'), fresh: true, out: path.join(dir, 'c') });
    const [ra, rb, rc] = await Promise.all([readRows(a.files.weights), readRows(b.files.weights), readRows(c.files.weights)]);
    expect(ra.length).toBe(30);
    expect(rb).toEqual(ra);
    expect(rc).toEqual(ra);
    expect(b.book.leverage).toBe(a.book.leverage);
    // From the held book of the previous day the same holds: the chain's day equals a re-score on truncated data.
    const prevHome = path.join(dir, 'home'); // the chain's book store holds the state of dates[3]
    const again = await score({ date, ohlcv: truncated, home: prevHome, out: path.join(dir, 'again') });
    expect(again.book.start).toBe('held');
    expect(await readRows(again.files.weights)).toEqual(chain.filter((r) => r.date === date).sort((x, y) => x.symbol.localeCompare(y.symbol)));
  });
});
