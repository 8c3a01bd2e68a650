import type { DuckDBConnection } from '@duckdb/node-api';
import type { TradingCalendar } from '../calendar/calendar.ts';
import { queryRows, sqlString, streamNumericColumns, withDuckDB } from '../lib/duckdb.ts';
import { StepError } from '../lib/errors.ts';
import type { DatasetConfig, EnvConfig } from './config.ts';
import { splitDates } from './dataset.ts';
import { N_EXO, type CostRates, type PathBook } from './env.ts';

/** Parquet files the baseline books are built from (local paths), per docs/contracts.md. */
export interface BookSources {
  /** portfolio.weights: path, date, symbol, weight (OOF-based CPCV paths). */
  weights: string;
  /** ohlcv.daily: date, symbol, close, volume. */
  ohlcv: string;
  /** signals.oof `oof` table: date, symbol, path, score (optional: score dispersion is 0 without it). */
  oof?: string;
  /** backtest.returns `returns` table (optional: cost calibration and reconstruction check). */
  returns?: string;
}

/** What loading found, for the dataset summary. */
export interface BookDiagnostics {
  paths: number[];
  n_symbols: number;
  first_date: string;
  last_date: string;
  cost_source: 'backtest' | 'config';
  costs: Record<string, CostRates>;
  /** Last date whose realised costs calibrated the rates (the training period's end), null when all dates did or none. */
  cost_calibration_end: string | null;
  /** Mean daily net return of the multiplier-1 book as rebuilt here vs the backtest's, per path (calibration dates). */
  reconstruction: { path: number; rebuilt_mean_net: number; backtest_mean_net: number | null }[];
}

/**
 * DuckDB cap of the books' instance: its windowed joins of weights, OHLCV and backtest returns
 * spill past it instead of holding ~200 MB more (rl_data's peak RSS 1,150 -> 938 MB on the full
 * S&P panel, outputs byte for byte the same); TRADEML_DUCKDB_MEMORY_LIMIT overrides it.
 */
const BOOKS_MEMORY_LIMIT = process.env.TRADEML_DUCKDB_MEMORY_LIMIT ?? '256MB';
const iso = (d: unknown): string => (d instanceof Date ? d.toISOString().slice(0, 10) : String(d).slice(0, 10));

async function columns(con: DuckDBConnection, sql: string): Promise<Record<string, unknown[]>> {
  const r = await con.runAndReadAll(sql);
  return r.getColumnsObjectJS() as Record<string, unknown[]>;
}

/** Options of {@link loadBooks}. */
export interface BookOptions {
  maxPaths: number;
  calendar: TradingCalendar;
  /** The dataset's split config: cost rates are calibrated on its training dates only (rl/dataset.ts `splitDates`). */
  dataset?: Pick<DatasetConfig, 'warmup_days' | 'eval_fraction' | 'embargo_days'>;
  /** Fixed cost rates per path (e.g. those a dataset recorded), used instead of any calibration. */
  costs?: Record<string, CostRates>;
}

/**
 * Builds one {@link PathBook} per CPCV path (at most `maxPaths`, lowest path ids) from the upstream
 * Parquet artifacts. Decision dates are the trading dates of the OHLCV calendar between a path's
 * first and last weights date that have a next trading date; a symbol missing from a date's weights
 * has weight 0. Factor z-scores are cross-sectional over all symbols of the OHLCV on each date.
 * Cost rates: with `costs.source: auto` and backtest returns present, per path
 * linear = Σ(fee + spread) / Σ traded, impact = Σ impact / Σ traded^1.5, borrow = Σ borrow / Σ short,
 * where traded and short are this module's own multiplier-1 totals over the path (ratios of totals,
 * so no assumption on the backtest's date alignment or turnover convention), both over the training
 * dates of `opts.dataset` only when given (the evaluation period must not calibrate what it evaluates);
 * otherwise configs/rl.yml, with the annual borrow rate charged per bar of `opts.calendar`
 * (borrow_bps_per_year / 1e4 / bars per year). `opts.costs` fixes the rates per path instead.
 * Throws a StepError when the inputs have no overlapping dates or symbols.
 */
export async function loadBooks(src: BookSources, env: EnvConfig, opts: BookOptions): Promise<{ books: PathBook[]; diagnostics: BookDiagnostics }> {
  return withDuckDB(async (con) => {
    // one thread: parallel floating-point sums are order-dependent, and the dataset must be byte-identical across runs
    await con.run(`SET threads = 1`);
    await con.run(`CREATE TEMP TABLE px AS
      SELECT symbol, CAST(date AS DATE) AS date, CAST(close AS DOUBLE) AS close, CAST(volume AS DOUBLE) AS volume,
        close / lag(close) OVER w - 1 AS r1,
        lead(close) OVER w / close - 1 AS r_next,
        close / lag(close, 20) OVER w - 1 AS mom20,
        close / lag(close, 5) OVER w - 1 AS rev5
      FROM read_parquet(${sqlString(src.ohlcv)}) WHERE close > 0
      WINDOW w AS (PARTITION BY symbol ORDER BY date)`);
    await con.run(`CREATE TEMP TABLE fac AS
      SELECT *, stddev_samp(r1) OVER w20 AS vol20, ln(1 + avg(close * coalesce(volume, 0)) OVER w20) AS liq20
      FROM px WINDOW w20 AS (PARTITION BY symbol ORDER BY date ROWS BETWEEN 19 PRECEDING AND CURRENT ROW)`);
    const z = (c: string) => `(${c} - avg(${c}) OVER d) / nullif(stddev_samp(${c}) OVER d, 0) AS z_${c}`;
    await con.run(`CREATE TEMP TABLE facz AS
      SELECT symbol, date, r_next, ${z('mom20')}, ${z('rev5')}, ${z('vol20')}, ${z('liq20')}
      FROM fac WINDOW d AS (PARTITION BY date)`);
    await con.run(`CREATE TEMP TABLE cal AS
      SELECT date, CAST(row_number() OVER (ORDER BY date) - 1 AS INTEGER) AS idx FROM (SELECT DISTINCT date FROM px)`);
    await con.run(`CREATE TEMP TABLE w AS
      SELECT CAST(path AS INTEGER) AS path, CAST(date AS DATE) AS date, symbol, CAST(weight AS DOUBLE) AS weight
      FROM read_parquet(${sqlString(src.weights)})
      WHERE CAST(path AS INTEGER) IN (SELECT DISTINCT CAST(path AS INTEGER) AS p FROM read_parquet(${sqlString(src.weights)}) ORDER BY p LIMIT ${opts.maxPaths})
        AND weight IS NOT NULL`);
    const maxIdx = (await queryRows<{ m: number }>(con, `SELECT max(idx) AS m FROM cal`))[0]?.m ?? -1;
    await con.run(`CREATE TEMP TABLE pcal AS
      SELECT r.path, c.date, c.idx FROM (SELECT path, min(date) AS d0, max(date) AS d1 FROM w GROUP BY path) r
      JOIN cal c ON c.date BETWEEN r.d0 AND r.d1 WHERE c.idx < ${maxIdx}`);
    await con.run(`CREATE TEMP TABLE syms AS SELECT symbol, CAST(row_number() OVER (ORDER BY symbol) - 1 AS INTEGER) AS sid FROM (SELECT DISTINCT symbol FROM w)`);
    let dispSql = `SELECT NULL::INTEGER AS path, NULL::DATE AS date, NULL::DOUBLE AS disp WHERE false`;
    if (src.oof) {
      await con.run(`CREATE TEMP TABLE oofd AS SELECT CAST(path AS INTEGER) AS path, CAST(date AS DATE) AS date, stddev_samp(score) AS disp
        FROM read_parquet(${sqlString(src.oof)}) GROUP BY ALL`);
      dispSql = `SELECT * FROM oofd`;
    }
    const day = await columns(
      con,
      `WITH disp AS (${dispSql}), dispd AS (SELECT date, avg(disp) AS disp_all FROM disp GROUP BY date),
       agg AS (
        SELECT p.path, p.idx, p.date,
          coalesce(sum(w.weight * coalesce(f.r_next, 0)), 0) AS gross_next,
          coalesce(sum(abs(w.weight)), 0) AS gross_exp, coalesce(sum(w.weight), 0) AS net_exp,
          coalesce(sum(greatest(-w.weight, 0)), 0) AS short_exp,
          coalesce(sum(w.weight * coalesce(f.z_mom20, 0)) / nullif(sum(abs(w.weight)), 0), 0) AS f_mom20,
          coalesce(sum(w.weight * coalesce(f.z_rev5, 0)) / nullif(sum(abs(w.weight)), 0), 0) AS f_rev5,
          coalesce(sum(w.weight * coalesce(f.z_vol20, 0)) / nullif(sum(abs(w.weight)), 0), 0) AS f_vol20,
          coalesce(sum(w.weight * coalesce(f.z_liq20, 0)) / nullif(sum(abs(w.weight)), 0), 0) AS f_liq20
        FROM pcal p LEFT JOIN w ON w.path = p.path AND w.date = p.date
        LEFT JOIN facz f ON f.symbol = w.symbol AND f.date = w.date
        GROUP BY p.path, p.idx, p.date)
       SELECT agg.*, CAST(isodow(agg.date) AS INTEGER) AS dow, coalesce(d.disp, dd.disp_all, 0) AS disp
       FROM agg LEFT JOIN disp d ON d.path = agg.path AND d.date = agg.date LEFT JOIN dispd dd ON dd.date = agg.date
       ORDER BY agg.path, agg.idx`,
    );
    const nDays = day.path!.length;
    if (nDays === 0) throw new StepError({ message: 'rl: the portfolio weights and the OHLCV calendar have no decision dates in common', type: 'RlDataError', nonRetryable: true });
    const wt = await weightRows(con);
    const nSym = Number((await queryRows<{ n: number }>(con, `SELECT count(*)::INTEGER AS n FROM syms`))[0]!.n);
    const range = (await queryRows<{ d0: Date; d1: Date }>(con, `SELECT min(date) AS d0, max(date) AS d1 FROM pcal`))[0]!;
    const calEnd = opts.dataset ? calibrationEnd(day, opts.dataset) : null;
    let bt: Record<string, unknown[]> | null = null;
    if (src.returns) {
      bt = await columns(
        con,
        `SELECT CAST(r.path AS INTEGER) AS path, sum(r.fee + r.spread) AS lin, sum(r.impact) AS imp, sum(r.borrow) AS bor, avg(r.net) AS mean_net, count(*)::INTEGER AS n
         FROM read_parquet(${sqlString(src.returns)}) r
         JOIN (SELECT path, min(date) AS d0, max(date) AS d1 FROM pcal GROUP BY path) p ON p.path = CAST(r.path AS INTEGER) AND r.date BETWEEN p.d0 AND p.d1
         ${calEnd ? `WHERE r.date <= DATE ${sqlString(calEnd)}` : ''}
         GROUP BY ALL ORDER BY path`,
      );
    }
    return assemble(day, wt, nSym, bt, env, opts, { first: iso(range.d0), last: iso(range.d1), calEnd });
  }, ':memory:', { memoryLimit: BOOKS_MEMORY_LIMIT });
}

/** The weights rows ordered by (path, calendar idx, symbol id). */
interface WeightRows {
  path: ArrayLike<number>;
  idx: ArrayLike<number>;
  sid: ArrayLike<number>;
  weight: ArrayLike<number>;
}

/** Whether the rows are in strictly increasing (path, idx, sid) order. */
function ordered(w: WeightRows): boolean {
  for (let i = 1; i < w.path.length; i++) {
    const dp = w.path[i]! - w.path[i - 1]!;
    const di = w.idx[i]! - w.idx[i - 1]!;
    if (dp < 0 || (dp === 0 && (di < 0 || (di === 0 && w.sid[i]! <= w.sid[i - 1]!)))) return false;
  }
  return true;
}

/**
 * The temp table `w`'s rows as typed arrays (one row per weight, ≈ paths × dates × symbols; never JS
 * row values), in (path, calendar idx, symbol id) order. The portfolio.weights contract stores its
 * rows in (path, date, symbol) order, and on this instance's one thread DuckDB's scan and joins keep
 * it, so the rows are streamed without an ORDER BY (sorting and holding the 4.8M rows of the
 * nightly's book cost ≈ 200 MB of the step's peak RSS), checked, and read again sorted when they are
 * not in order.
 */
async function weightRows(con: DuckDBConnection): Promise<WeightRows> {
  const capacity = Number((await queryRows<{ n: number }>(con, `SELECT count(*)::INTEGER AS n FROM w`))[0]!.n);
  const sql = `SELECT w.path, c.idx, s.sid, w.weight FROM w JOIN cal c USING (date) JOIN syms s USING (symbol)`;
  const kinds = ['int', 'int', 'int', 'double'] as const;
  const read = async (q: string): Promise<WeightRows> => {
    const { cols } = await streamNumericColumns(con, q, kinds, capacity);
    return { path: cols[0]!, idx: cols[1]!, sid: cols[2]!, weight: cols[3]! };
  };
  const wt = await read(sql);
  return ordered(wt) ? wt : read(`${sql} ORDER BY w.path, c.idx, s.sid`);
}

function assemble(
  day: Record<string, unknown[]>,
  wt: WeightRows,
  nSym: number,
  bt: Record<string, unknown[]> | null,
  env: EnvConfig,
  opts: BookOptions,
  range: { first: string; last: string; calEnd: string | null },
): { books: PathBook[]; diagnostics: BookDiagnostics } {
  const cal = opts.calendar;
  const A = env.actions.length;
  const acts = env.actions;
  const num = (col: string, i: number) => Number(day[col]![i]);
  // group day rows by path
  const paths: number[] = [];
  const spans: [number, number][] = [];
  for (let i = 0; i < day.path!.length; i++) {
    const p = num('path', i);
    if (paths.length === 0 || paths[paths.length - 1] !== p) {
      paths.push(p);
      spans.push([i, i + 1]);
    } else spans[spans.length - 1]![1] = i + 1;
  }
  // weights rows grouped by path, then calendar idx
  const { path: wPath, idx: wIdx, sid: wSid, weight: wVal } = wt;
  let wr = 0;
  const books: PathBook[] = [];
  const linCfg = env.costs.linear_bps / 1e4;
  const borCfg = cal.perBar(env.costs.borrow_bps_per_year / 1e4);
  const btByPath = new Map<number, { lin: number; imp: number; bor: number; mean: number }>();
  if (bt) for (let i = 0; i < bt.path!.length; i++) btByPath.set(Number(bt.path![i]), { lin: Number(bt.lin![i]), imp: Number(bt.imp![i]), bor: Number(bt.bor![i]), mean: Number(bt.mean_net![i]) });
  const useBt = env.costs.source === 'auto' && btByPath.size > 0;
  const diagCosts: Record<string, CostRates> = {};
  const recon: BookDiagnostics['reconstruction'] = [];
  for (let pi = 0; pi < paths.length; pi++) {
    const p = paths[pi]!;
    const [a, b] = spans[pi]!;
    const T = b - a;
    const idx0 = num('idx', a);
    const dates: string[] = [];
    const grossNext = new Float64Array(T);
    const shortExp = new Float64Array(T);
    const exo = new Float64Array(T * N_EXO);
    const turn = new Float64Array(T * A * A);
    for (let t = 0; t < T; t++) {
      const i = a + t;
      if (num('idx', i) !== idx0 + t) throw new StepError({ message: `rl: calendar gap in path ${p} at ${iso(day.date![i])}`, type: 'RlDataError', nonRetryable: true });
      dates.push(iso(day.date![i]));
      grossNext[t] = num('gross_next', i);
      shortExp[t] = num('short_exp', i);
      const e = t * N_EXO;
      exo[e + 0] = num('disp', i);
      exo[e + 1] = num('gross_exp', i);
      exo[e + 2] = num('net_exp', i);
      exo[e + 3] = num('f_mom20', i);
      exo[e + 4] = num('f_rev5', i);
      exo[e + 5] = num('f_vol20', i);
      exo[e + 6] = num('f_liq20', i);
      const dow = num('dow', i); // 1 = Monday
      if (dow >= 1 && dow <= 5) exo[e + 11 + dow] = 1;
    }
    // traded-notional table: dense previous/current weight vectors over the path's calendar
    const prev = new Float64Array(nSym);
    const cur = new Float64Array(nSym);
    let prevList: number[] = [];
    const mark = new Uint8Array(nSym);
    while (wr < wPath.length && wPath[wr]! < p) wr++;
    // weights before the path's first decision date (none by construction) are skipped
    while (wr < wPath.length && wPath[wr] === p && wIdx[wr]! < idx0) wr++;
    for (let t = 0; t < T; t++) {
      const curList: number[] = [];
      while (wr < wPath.length && wPath[wr] === p && wIdx[wr] === idx0 + t) {
        cur[wSid[wr]!] = wVal[wr]!;
        curList.push(wSid[wr]!);
        wr++;
      }
      const union: number[] = [];
      for (const s of prevList) if (!mark[s]) ((mark[s] = 1), union.push(s));
      for (const s of curList) if (!mark[s]) ((mark[s] = 1), union.push(s));
      const base = t * A * A;
      for (const s of union) {
        mark[s] = 0;
        const wc = cur[s]!;
        const wp = prev[s]!;
        for (let j = 0; j < A; j++) {
          const pj = acts[j]! * wp;
          for (let k = 0; k < A; k++) turn[base + j * A + k] += Math.abs(acts[k]! * wc - pj);
        }
      }
      for (const s of prevList) prev[s] = 0;
      for (const s of curList) ((prev[s] = cur[s]!), (cur[s] = 0));
      prevList = curList;
    }
    while (wr < wPath.length && wPath[wr] === p) wr++;
    // cost rates
    const k1 = acts.indexOf(env.baseline_action);
    const one = acts.indexOf(1) >= 0 ? acts.indexOf(1) : k1;
    let sumT = 0;
    let sumT15 = 0;
    let sumS = 0;
    for (let t = 0; t < T; t++) {
      if (range.calEnd && dates[t]! > range.calEnd) break;
      const tr = turn[(t * A + one) * A + one]!;
      sumT += tr;
      sumT15 += Math.pow(tr, 1.5);
      sumS += shortExp[t]!;
    }
    const btp = btByPath.get(p);
    let costs: CostRates;
    const fixed = opts.costs?.[String(p)];
    if (fixed) costs = fixed;
    else if (useBt) {
      const src = btp ?? aggregateBt(btByPath);
      costs = {
        linear: sumT > 0 ? src.lin / sumT : linCfg,
        impact: sumT15 > 0 ? src.imp / sumT15 : env.costs.impact_coef,
        borrow: sumS > 0 ? src.bor / sumS : borCfg,
        source: 'backtest',
      };
    } else costs = { linear: linCfg, impact: env.costs.impact_coef, borrow: borCfg, source: 'config' };
    diagCosts[String(p)] = costs;
    // baseline (multiplier 1) trailing statistics, known at the decision date
    const net1 = new Float64Array(T);
    const cost1 = new Float64Array(T);
    for (let t = 0; t < T; t++) {
      const tr = turn[(t * A + one) * A + one]!;
      cost1[t] = costs.linear * tr + costs.impact * Math.pow(tr, 1.5) + costs.borrow * shortExp[t]!;
      net1[t] = grossNext[t]! - cost1[t]!;
    }
    const W = env.vol_window;
    let meanNet = 0;
    let nMean = 0;
    for (let t = 0; t < T; t++) {
      if (!range.calEnd || dates[t]! <= range.calEnd) ((meanNet += net1[t]!), nMean++);
      const e = t * N_EXO;
      // realised net returns known at t: net1[t-W .. t-1]
      const lo = Math.max(0, t - W);
      let s = 0;
      let s2 = 0;
      let n = 0;
      for (let u = lo; u < t; u++) ((s += net1[u]!), (s2 += net1[u]! * net1[u]!), n++);
      exo[e + 7] = n > 1 ? Math.sqrt(Math.max(0, (s2 - (s * s) / n) / (n - 1))) : 0;
      let s5 = 0;
      for (let u = Math.max(0, t - 5); u < t; u++) s5 += net1[u]!;
      exo[e + 8] = s5;
      exo[e + 9] = s;
      let tr5 = 0;
      let c5 = 0;
      let n5 = 0;
      for (let u = Math.max(0, t - 4); u <= t; u++) ((tr5 += turn[(u * A + one) * A + one]!), (c5 += cost1[u]!), n5++);
      exo[e + 10] = tr5 / n5;
      exo[e + 11] = c5 / n5;
    }
    recon.push({ path: p, rebuilt_mean_net: nMean ? meanNet / nMean : NaN, backtest_mean_net: btp ? btp.mean : null });
    books.push({ path: p, dates, grossNext, shortExp, turn, exo, costs });
  }
  return {
    books,
    diagnostics: { paths, n_symbols: nSym, first_date: range.first, last_date: range.last, cost_source: useBt ? 'backtest' : 'config', costs: diagCosts, cost_calibration_end: useBt ? range.calEnd : null, reconstruction: recon },
  };
}

/** The training period's last date of the day table's paths (the dataset split on their dates). */
function calibrationEnd(day: Record<string, unknown[]>, cfg: NonNullable<BookOptions['dataset']>): string {
  const byPath = new Map<number, string[]>();
  for (let i = 0; i < day.path!.length; i++) {
    const p = Number(day.path![i]);
    if (!byPath.has(p)) byPath.set(p, []);
    byPath.get(p)!.push(iso(day.date![i]));
  }
  return splitDates([...byPath.values()].map((dates) => ({ dates })), cfg).train_end;
}

function aggregateBt(m: Map<number, { lin: number; imp: number; bor: number; mean: number }>) {
  // fall back to the average over the backtest's paths (totals scaled to one path)
  let lin = 0;
  let imp = 0;
  let bor = 0;
  for (const v of m.values()) ((lin += v.lin), (imp += v.imp), (bor += v.bor));
  const n = m.size;
  return { lin: lin / n, imp: imp / n, bor: bor / n, mean: NaN };
}
