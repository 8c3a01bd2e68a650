import path from 'node:path';
import { ArtifactStore } from '../../artifacts/store.ts';
import { backtestReturns, portfolioWeights, signalsOof } from '../../contracts/index.ts';
import { sqlString, withDuckDB } from '../../lib/duckdb.ts';
import { TEST_SYMBOLS, writeSp500Slice } from '../support/sp500.ts';
import { tempDir, type TestUpstream } from '../support/context.ts';
import { auditStep, providerOutputs } from '../backtest/fixtures.ts';

/** Cost rates the fixture's backtest charges (so the RL cost calibration has a known answer). */
export const FIXTURE_COSTS = { fee: 0.00005, spread: 0.0002, impact: 0.001, borrow: 0.0002 };

/**
 * Upstream steps of the RL kinds built from a real S&P slice (default 30 symbols, 2015-01..2017-06),
 * a qc.audit → stack.oof → portfolio.build → backtest.cpcv_paths chain whose outputs are hand-made
 * artifacts in the contract shapes (so the costs and weights have known answers):
 * - oof: 3 "CPCV paths" of a 20-day momentum score plus a small path-specific perturbation, and the
 *   plain score from 2015-07 on as the walk-forward path 0;
 * - weights: per path and date, +0.5/names on the `names` highest scores, −0.5/names on the lowest (gross 1.0);
 * - returns: daily P&L of the previous date's weights, costs at FIXTURE_COSTS per unit turnover
 *   (impact on turnover^1.5, borrow on short exposure).
 */
export async function buildRlUpstream(
  store?: ArtifactStore,
  opts: { symbols?: string[]; from?: string; to?: string; paths?: number; names?: number } = {},
): Promise<{ store: ArtifactStore; upstream: Record<string, TestUpstream> }> {
  const dir = tempDir('trademl-rl-fixture-');
  const st = store ?? new ArtifactStore(path.join(dir, 'artifacts'));
  const ohlcv = await writeSp500Slice(path.join(dir, 'ohlcv.parquet'), opts.symbols ?? TEST_SYMBOLS, { from: opts.from ?? '2015-01-01', to: opts.to ?? '2017-06-30' });
  const nPaths = opts.paths ?? 3;
  const names = opts.names ?? 5;
  const wName = 0.5 / names;
  const oof = path.join(dir, 'oof.parquet');
  const oofWf = path.join(dir, 'oof_walk_forward.parquet');
  const weights = path.join(dir, 'weights.parquet');
  const returns = path.join(dir, 'returns.parquet');
  const c = FIXTURE_COSTS;
  await withDuckDB(async (con) => {
    await con.run(`CREATE TABLE px AS SELECT symbol, date, close,
        close / lag(close, 20) OVER w - 1 AS mom20, lead(close) OVER w / close - 1 AS r_next, close / lag(close) OVER w - 1 AS r1
      FROM read_parquet(${sqlString(ohlcv)}) WINDOW w AS (PARTITION BY symbol ORDER BY date)`);
    await con.run(`CREATE TABLE paths AS SELECT * FROM range(1, ${nPaths + 1}) t(path)`);
    await con.run(`COPY (SELECT px.date, px.symbol, CAST(p.path AS INTEGER) AS path,
        px.mom20 + 0.02 * ((hash(px.symbol, px.date, p.path) % 1000) / 1000.0 - 0.5) AS score, px.r_next AS ret
      FROM px, paths p WHERE px.mom20 IS NOT NULL ORDER BY date, symbol, path) TO ${sqlString(oof)} (FORMAT parquet)`);
    await con.run(`COPY (SELECT date, symbol, 0 AS path, mom20 AS score, r_next AS ret FROM px WHERE mom20 IS NOT NULL AND date >= DATE '2015-07-01'
      ORDER BY date, symbol) TO ${sqlString(oofWf)} (FORMAT parquet)`);
    await con.run(`COPY (
      WITH r AS (SELECT path, date, symbol, row_number() OVER (PARTITION BY path, date ORDER BY score DESC, symbol) AS hi,
                        row_number() OVER (PARTITION BY path, date ORDER BY score ASC, symbol) AS lo
                 FROM read_parquet(${sqlString(oof)}))
      SELECT path, date, symbol, CASE WHEN hi <= ${names} THEN ${wName} WHEN lo <= ${names} THEN -${wName} ELSE 0.0 END AS weight
      FROM r ORDER BY path, date, symbol) TO ${sqlString(weights)} (FORMAT parquet)`);
    await con.run(`COPY (
      WITH w AS (SELECT * FROM read_parquet(${sqlString(weights)})),
      cal AS (SELECT DISTINCT date FROM px),
      grid AS (SELECT p.path, c.date, s.symbol FROM paths p, cal c, (SELECT DISTINCT symbol FROM w) s
               WHERE c.date BETWEEN (SELECT min(date) FROM w) AND (SELECT max(date) FROM w)),
      full_w AS (SELECT g.path, g.date, g.symbol, coalesce(w.weight, 0) AS weight FROM grid g
                 LEFT JOIN w ON w.path = g.path AND w.date = g.date AND w.symbol = g.symbol),
      lagged AS (SELECT f.*, coalesce(lag(weight) OVER (PARTITION BY path, symbol ORDER BY date), 0) AS w_prev, px.r1
                 FROM full_w f LEFT JOIN px USING (symbol, date)),
      day AS (SELECT path, date, sum(w_prev * coalesce(r1, 0)) AS gross, sum(abs(weight - w_prev)) AS turnover,
                     sum(greatest(-weight, 0)) AS short_exp, sum(abs(weight)) AS gross_exposure, sum(weight) AS net_exposure
              FROM lagged GROUP BY path, date)
      SELECT CAST(path AS INTEGER) AS path, date, gross, ${c.fee} * turnover AS fee, ${c.spread} * turnover AS spread,
             ${c.impact} * pow(turnover, 1.5) AS impact, ${c.borrow} * short_exp AS borrow,
             gross - ${c.fee + c.spread} * turnover - ${c.impact} * pow(turnover, 1.5) - ${c.borrow} * short_exp AS net,
             turnover, gross_exposure, net_exposure
      FROM day ORDER BY path, date) TO ${sqlString(returns)} (FORMAT parquet)`);
  });
  const put = (f: string) => st.putFile(f, { move: false });
  const oofRef = await put(oof);
  const source = { step: 'stack', sleeve: 'stack' };
  const signal = { sleeve: 'stack', task: 'regression', calendar: 'nyse', n_paths: nPaths, components: ['a', 'b'], oof: oofRef, walk_forward: await put(oofWf) };
  const w = { ...(await put(weights)), calendar: 'nyse', paths: Array.from({ length: nPaths }, (_, i) => i + 1), source };
  const bt = { calendar: 'nyse', execution: 'close', source, returns: await put(returns), metrics: await st.putJson({ per_path: [] }, 'backtest_metrics.json'), sleeve_returns: null };
  return {
    store: st,
    upstream: {
      audit: auditStep(await put(ohlcv)),
      stack: { uses: 'stack.oof', outputs: providerOutputs('stack.oof', [[signalsOof, signal]]), needs: ['audit'] },
      portfolio: { uses: 'portfolio.build', outputs: providerOutputs('portfolio.build', [[portfolioWeights, w]]), needs: ['stack'] },
      backtest: { uses: 'backtest.cpcv_paths', outputs: providerOutputs('backtest.cpcv_paths', [[backtestReturns, bt]]), needs: ['portfolio'] },
    },
  };
}
