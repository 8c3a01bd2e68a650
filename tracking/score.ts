import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ArtifactRef, ArtifactStore } from '../artifacts/store.ts';
import { loadPanel } from '../backtest/io.ts';
import { queryRows, sqlString, withDuckDB } from '../lib/duckdb.ts';
import { calendarFor } from '../calendar/calendar.ts';
import { UserError } from '../lib/errors.ts';
import { scoreBook, type BookState } from '../portfolio/score_book.ts';
import { featureNames } from './registry.ts';
import { BookStore, flatState, tradeSetupFor, type TradeSetup } from './book.ts';

export { BookStore, flatState, tradeSetupFor, type TradeSetup } from './book.ts';

/** How the day's book relates to the previous one. */
export interface BookInfo {
  /** 'held': traded from the held book of `previous_date`; 'flat': no held book, started from nothing held. */
  start: 'held' | 'flat';
  /** Previous trading date of the OHLCV (null when the scored date is its first date). */
  previous_date: string | null;
  /** One sentence saying which held book the day started from. */
  note: string;
  portfolio_source: string;
  config_digest: string;
  costs_digest: string;
  /** When the targets are traded (portfolio config `execution`): decided at the close of `date`. */
  execution: 'close' | 'next_open';
  trade_rate: number;
  /** Multiplier applied to the base book (vol target / Kelly, floor, ceiling), and its components (NaN/null in warm-up). */
  leverage: number;
  vol_leverage: number | null;
  kelly: number | null;
  /** Σ|Δw| traded from the held book (one-way, fraction of capital). */
  turnover: number;
  /** The book state after the day's trades (portfolio/score_book.ts BookState JSON) in the artifact store. */
  state: ArtifactRef;
  /** The pointer file of that state in the book store (`<home>/books/...`). */
  state_file: string;
}

export interface ScoreResult {
  model: string;
  version: string;
  date: string;
  n_universe: number;
  n_scored: number;
  /** Names held long / short after the day's trades. */
  n_long: number;
  n_short: number;
  /** Σ|w| and Σw of the book (fractions of capital). */
  gross: number;
  net: number;
  /** Fraction of feature values that were NULL (warm-up/missing) on that date. */
  null_fraction: number;
  book: BookInfo;
  files: { weights: string; json: string; markdown: string };
  /** The 10 largest long / short weights (score NaN when the name was not scored that day). */
  top_long: Array<{ symbol: string; score: number; weight: number }>;
  top_short: Array<{ symbol: string; score: number; weight: number }>;
}

interface FeatureSpecLike {
  name: string;
  kind: string;
  window: number | null;
  normalize: 'rank' | 'zscore' | 'none';
  warmup_rows: number;
  definition: string;
  sql: string;
}

/**
 * Feature specs to recompute a model's features: from the feature registry entry stored with the
 * model when it carries the SQL definitions, else from the project's feature config
 * (`config_path` of the entry, default configs/features/equities.yml, with its window overrides).
 * Returns the specs in the model's feature order; throws a UserError when a feature cannot be built.
 */
export async function featureSpecsFor(entry: unknown, projectRoot: string): Promise<{ specs: FeatureSpecLike[]; normalize: boolean; zscoreClip: number }> {
  const names = featureNames(entry);
  const e = (entry && typeof entry === 'object' && !Array.isArray(entry) ? entry : {}) as Record<string, unknown>;
  const normalize = e.normalized !== false;
  let zscoreClip = typeof e.zscore_clip === 'number' ? e.zscore_clip : 3;
  let specs: FeatureSpecLike[] = [];
  const listed = Array.isArray(e.features) ? (e.features as Array<Record<string, unknown>>) : [];
  if (listed.length && listed.every((f) => typeof f?.sql === 'string' && typeof f?.name === 'string')) {
    specs = listed.map((f) => ({
      name: String(f.name),
      kind: String(f.kind),
      window: (f.window as number | null) ?? null,
      normalize: normalize ? ((f.normalize as FeatureSpecLike['normalize']) ?? 'rank') : 'none',
      warmup_rows: Number(f.warmup_rows ?? 1),
      definition: String(f.definition ?? ''),
      sql: String(f.sql),
    }));
  } else {
    const { loadFeatureSet } = await import('../features/config.ts');
    const set = loadFeatureSet(projectRoot, typeof e.config_path === 'string' ? e.config_path : 'configs/features/equities.yml', (e.window_overrides as Record<string, number>) ?? {});
    specs = set.features as FeatureSpecLike[];
    zscoreClip = set.config.zscore_clip;
  }
  const byName = new Map(specs.map((s) => [s.name, s]));
  const missing = names.filter((n) => !byName.has(n));
  if (missing.length) throw new UserError({ message: `the model needs feature(s) ${missing.join(', ')} that the feature definitions do not provide; re-run the features step with the model's config` });
  return { specs: names.map((n) => byName.get(n)!), normalize, zscoreClip };
}

/** Calendar days of history that hold `bars` bars of calendar `calendar` (with 10% and 30 days of slack). */
export function historyDays(bars: number, calendar: string): number {
  const DAYS_PER_YEAR = 365.25;
  return Math.ceil(calendarFor(calendar).years(bars) * DAYS_PER_YEAR * 1.1) + 30;
}

/** Raw model scores of one date: features from the OHLCV, then the ONNX model. */
async function sleeveScores(opts: { onnxPath: string; featureListPath: string; ohlcvPath: string; calendar: string; date?: string; projectRoot: string; workDir: string; label: string }): Promise<{ date: string; scores: Map<string, number>; nUniverse: number; nulls: number; cells: number }> {
  const entry = JSON.parse(readFileSync(opts.featureListPath, 'utf8')) as unknown;
  const names = featureNames(entry);
  const { specs, normalize, zscoreClip } = await featureSpecsFor(entry, opts.projectRoot);
  const { computeEquityFeatures } = await import('../features/equities.ts');
  mkdirSync(opts.workDir, { recursive: true });
  const sliced = path.join(opts.workDir, 'ohlcv_slice.parquet');
  const featFile = path.join(opts.workDir, 'features.parquet');
  const warm = Math.max(...specs.map((x) => x.warmup_rows), 1);
  const { date, rows } = await withDuckDB(async (con) => {
    const src = sqlString(opts.ohlcvPath);
    const [last] = await queryRows<{ d: Date | null }>(con, `SELECT max(date) AS d FROM read_parquet(${src})${opts.date ? ` WHERE date <= DATE ${sqlString(opts.date)}` : ''}`);
    if (!last?.d) throw new UserError({ message: `no OHLCV rows${opts.date ? ` on or before ${opts.date}` : ''} in ${opts.ohlcvPath}` });
    const d = last.d.toISOString().slice(0, 10);
    if (opts.date && d !== opts.date) throw new UserError({ message: `${opts.date} is not a trading date in the OHLCV (last trading date before it: ${d}); pass --date ${d}` });
    // Enough history for the longest warm-up: its bars in calendar days on the data's calendar, +10% and a month of slack.
    const from = new Date(Date.parse(d) - historyDays(warm, opts.calendar) * 86_400_000).toISOString().slice(0, 10);
    await con.run(`COPY (SELECT * FROM read_parquet(${src}) WHERE date BETWEEN DATE ${sqlString(from)} AND DATE ${sqlString(d)} ORDER BY symbol, date) TO ${sqlString(sliced)} (FORMAT parquet)`);
    await computeEquityFeatures(con, sliced, featFile, specs as never, { normalize, zscoreClip });
    const cols = names.map((n) => `"${n.replace(/"/g, '""')}"`).join(', ');
    const r = await queryRows<Record<string, number | string | null>>(con, `SELECT symbol, ${cols} FROM read_parquet(${sqlString(featFile)}) WHERE date = DATE ${sqlString(d)} ORDER BY symbol`);
    return { date: d, rows: r };
  });
  if (!rows.length) throw new UserError({ message: `no features for ${date}` });
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(opts.onnxPath, { executionProviders: ['cpu'], intraOpNumThreads: 1 });
  const F = names.length;
  const X = new Float32Array(rows.length * F);
  let nulls = 0;
  rows.forEach((r, i) =>
    names.forEach((n, j) => {
      const v = r[n];
      if (v === null || v === undefined) nulls++;
      X[i * F + j] = v === null || v === undefined ? NaN : Number(v);
    }),
  );
  let scores: Float32Array;
  try {
    const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', X, [rows.length, F]) });
    scores = out[session.outputNames[0]!]!.data as Float32Array;
    if (scores.length < rows.length) throw new UserError({ message: `${opts.label}: model output has ${scores.length} values for ${rows.length} rows` });
    if (scores.length !== rows.length) {
      // Classifier probabilities [N, C]: use P(last class) − P(first class), the contract's score.
      const C = scores.length / rows.length;
      const p = scores;
      scores = Float32Array.from({ length: rows.length }, (_, i) => p[i * C + C - 1]! - p[i * C]!);
    }
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError({ message: `${opts.label}: ONNX model failed on a [${rows.length}, ${F}] input: ${(err as Error).message}` });
  } finally {
    await session.release();
  }
  return { date, scores: new Map(rows.map((r, i) => [String(r.symbol), scores[i]!])), nUniverse: rows.length, nulls, cells: rows.length * F };
}

/** Cross-sectional z-score of the finite values (population sd); NaN for the rest. */
function zscores(m: Map<string, number>): Map<string, number> {
  const v = [...m.values()].filter(Number.isFinite);
  const mean = v.reduce((a, x) => a + x, 0) / v.length;
  const sd = Math.sqrt(v.reduce((a, x) => a + (x - mean) ** 2, 0) / v.length);
  return new Map([...m].map(([k, x]) => [k, Number.isFinite(x) ? (sd > 0 ? (x - mean) / sd : 0) : NaN]));
}

type SleeveBase = { ohlcvPath: string; calendar: string; date?: string; projectRoot: string };

/**
 * The blended score of several sleeves: `intercept + Σ weight[sleeve] · z(sleeve score)` with z the
 * per-date cross-sectional z-score, the weights read from the stacker JSON at `opts.stackerPath`.
 */
async function blendedScores(opts: { model: string; version: string; stackerPath?: string; outDir: string }, sleeves: Array<{ sleeve: string; onnx: string; featureList: string }>, base: SleeveBase) {
  if (!opts.stackerPath) throw new UserError({ message: `model ${opts.model} v${opts.version} has ${sleeves.length} sleeves but no stacker.json` });
  const stacker = JSON.parse(readFileSync(opts.stackerPath, 'utf8')) as { weights: Record<string, number> | number[]; intercept?: number; sleeves?: string[] };
  const wOf = (sl: string, i: number): number => {
    const w = Array.isArray(stacker.weights) ? stacker.weights[(stacker.sleeves ?? []).indexOf(sl) >= 0 ? (stacker.sleeves ?? []).indexOf(sl) : i] : stacker.weights[sl];
    if (typeof w !== 'number') throw new UserError({ message: `stacker.json has no weight for sleeve ${sl}` });
    return w;
  };
  const per: Array<{ w: number; z: Map<string, number>; r: Awaited<ReturnType<typeof sleeveScores>> }> = [];
  for (const [i, sl] of sleeves.entries()) {
    const r = await sleeveScores({ ...base, onnxPath: sl.onnx, featureListPath: sl.featureList, workDir: path.join(opts.outDir, 'sleeves', sl.sleeve), label: `sleeve ${sl.sleeve}` });
    per.push({ w: wOf(sl.sleeve, i), z: zscores(r.scores), r });
  }
  return {
    date: per[0]!.r.date,
    nUniverse: per[0]!.r.nUniverse,
    nulls: per.reduce((a, p) => a + p.r.nulls, 0),
    cells: per.reduce((a, p) => a + p.r.cells, 0),
    combined: new Map([...per[0]!.r.scores.keys()].map((sym) => [sym, per.reduce((a, p) => a + p.w * (p.z.get(sym) ?? NaN), stacker.intercept ?? 0)])),
  };
}

/**
 * Scores one date with a model and turns the scores into the book the gated backtest trades.
 * Features of that date are computed from the canonical OHLCV Parquet (history before the date for
 * warm-up, nothing after it), the ONNX model scores them (onnxruntime-node, input [N, F] float32, NaN
 * for NULL features); with several `sleeves` and a `stackerPath` the score is
 * `intercept + Σ weight[sleeve] · z(sleeve score)` (z = per-date cross-sectional z-score), as the
 * stacker was fitted. The scores then go through portfolio/score_book.ts `scoreBook` with `setup`
 * (rank z-score base book, vol target / Kelly sizing on the held book, partial rebalancing at
 * `trade_rate`) on the price panel of every OHLCV date ≤ `date` (nothing after it is read), from the
 * held book of the previous trading date in `books` (else — first day, or `fresh` — from a flat
 * book, as the backtest's path starts, and the output says so). The new state is stored in `books`.
 * Writes `weights.parquet` (date DATE, symbol VARCHAR, score DOUBLE or NULL, weight DOUBLE fraction of
 * capital; every scored or held name), `score.json` and `score.md` to `outDir`.
 * `date` defaults to the last date in the OHLCV. Throws a UserError when the date has no rows, or when
 * the book was last scored before the previous trading date (a gap: score the missing dates first, or
 * start `fresh`).
 */
export async function scoreDate(opts: {
  model: string;
  version: string;
  onnxPath: string;
  featureListPath: string;
  sleeves?: Array<{ sleeve: string; onnx: string; featureList: string }>;
  stackerPath?: string;
  ohlcvPath: string;
  /** Trading calendar of the OHLCV (calendar/calendar.ts): warm-up history and the sizer's annualisation. */
  calendar: string;
  date?: string;
  projectRoot: string;
  outDir: string;
  setup: TradeSetup;
  books: BookStore;
  /** Start a new book from flat even when a held book exists. */
  fresh?: boolean;
  /** Recorded on the stored state (score.daily: its inputs key). */
  writtenBy?: string;
}): Promise<ScoreResult> {
  mkdirSync(opts.outDir, { recursive: true });
  const base: SleeveBase = { ohlcvPath: opts.ohlcvPath, calendar: opts.calendar, date: opts.date, projectRoot: opts.projectRoot };
  const names = featureNames(JSON.parse(readFileSync(opts.featureListPath, 'utf8')) as unknown);
  const { date, combined, nUniverse, nulls, cells } =
    opts.sleeves && opts.sleeves.length > 1
      ? await blendedScores(opts, opts.sleeves, base)
      : await sleeveScores({ ...base, onnxPath: opts.onnxPath, featureListPath: opts.featureListPath, workDir: opts.outDir, label: `model ${opts.model} v${opts.version}` }).then((r) => ({ ...r, combined: r.scores }));
  const cal = calendarFor(opts.calendar);
  const cfg = opts.setup.portfolio;

  // Prices of every date ≤ the scored date: the panel the backtest saw up to that row, nothing after it.
  const sliced = path.join(opts.outDir, 'panel_upto.parquet');
  const panel = await withDuckDB(async (con) => {
    await con.run(`COPY (SELECT * FROM read_parquet(${sqlString(opts.ohlcvPath)}) WHERE date <= DATE ${sqlString(date)} ORDER BY symbol, date) TO ${sqlString(sliced)} (FORMAT parquet)`);
    return loadPanel(con, sliced);
  });
  const t = panel.dates.indexOf(date);
  const prevDate = t > 0 ? panel.dates[t - 1]! : null;
  const dir = opts.books.dir(opts.model, opts.version, opts.setup);
  let state: BookState | null = null;
  let start: BookInfo['start'] = 'flat';
  let note: string;
  const held = prevDate && !opts.fresh ? opts.books.get(dir, prevDate) : null;
  if (held) {
    state = held;
    start = 'held';
    note = `traded from the held book of ${prevDate} (${Object.keys(held.held).length} names)`;
  } else {
    const earlier = opts.books.dates(dir).filter((d) => d < date);
    if (earlier.length && !opts.fresh) {
      throw new UserError({
        message: `the book of ${opts.model} v${opts.version} was last scored on ${earlier.at(-1)}, but the previous trading date of ${date} is ${prevDate}: score every trading date in order (next: the first date after ${earlier.at(-1)}), or start a new book from flat (--fresh / with.fresh: true)`,
      });
    }
    state = prevDate ? flatState(prevDate, cfg) : null;
    note = `no held book${opts.fresh ? ' (fresh start asked)' : ` of ${prevDate ?? 'an earlier date'}`}: the book starts from flat (nothing held), as a backtest path does; ${cfg.trade_rate < 1 ? `it trades ${cfg.trade_rate} of the gap to the target today` : 'it trades to the full target today'}`;
  }
  const book = scoreBook({ date, scores: combined, panel, state, cfg, cal, costs: opts.setup.costs });
  const saved = await opts.books.put(dir, { model: opts.model, version: opts.version, date, config_digest: opts.setup.config_digest, costs_digest: opts.setup.costs_digest, ...(opts.writtenBy ? { written_by: opts.writtenBy } : {}) }, book.state);

  const symbols = [...new Set([...combined.keys(), ...book.weights.keys()])];
  const table = symbols.map((symbol) => ({ symbol, score: combined.get(symbol) ?? NaN, weight: book.weights.get(symbol) ?? 0 }));
  table.sort((a, b) => (Number.isFinite(b.score) ? b.score : -Infinity) - (Number.isFinite(a.score) ? a.score : -Infinity) || a.symbol.localeCompare(b.symbol));
  const nScored = table.filter((x) => Number.isFinite(x.score)).length;

  const files = { weights: path.join(opts.outDir, 'weights.parquet'), json: path.join(opts.outDir, 'score.json'), markdown: path.join(opts.outDir, 'score.md') };
  const csv = path.join(opts.outDir, 'weights.csv');
  // Weights are written with 17 significant digits (round-trip exact for doubles).
  writeFileSync(csv, 'symbol,score,weight\n' + table.map((x) => `${x.symbol},${Number.isFinite(x.score) ? x.score : ''},${x.weight}`).join('\n') + '\n');
  await withDuckDB((con) =>
    con.run(`COPY (SELECT DATE ${sqlString(date)} AS date, symbol, CAST(score AS DOUBLE) AS score, CAST(weight AS DOUBLE) AS weight FROM read_csv(${sqlString(csv)}, header=true, columns={'symbol':'VARCHAR','score':'DOUBLE','weight':'DOUBLE'}) ORDER BY symbol) TO ${sqlString(files.weights)} (FORMAT parquet)`),
  );
  const gross = table.reduce((a, x) => a + Math.abs(x.weight), 0);
  const net = table.reduce((a, x) => a + x.weight, 0);
  const byWeight = [...table].sort((a, b) => b.weight - a.weight || a.symbol.localeCompare(b.symbol));
  const fin = (x: number) => (Number.isFinite(x) ? x : null);
  const result: ScoreResult = {
    model: opts.model,
    version: opts.version,
    date,
    n_universe: nUniverse,
    n_scored: nScored,
    n_long: table.filter((x) => x.weight > 0).length,
    n_short: table.filter((x) => x.weight < 0).length,
    gross,
    net,
    null_fraction: cells ? nulls / cells : 0,
    book: {
      start,
      previous_date: prevDate,
      note,
      portfolio_source: opts.setup.source,
      config_digest: opts.setup.config_digest,
      costs_digest: opts.setup.costs_digest,
      execution: cfg.execution,
      trade_rate: cfg.trade_rate,
      leverage: book.sizing.leverage,
      vol_leverage: fin(book.sizing.volLeverage),
      kelly: fin(book.sizing.kelly),
      turnover: book.turnover,
      state: saved.ref,
      state_file: saved.file,
    },
    files,
    top_long: byWeight.filter((x) => x.weight > 0).slice(0, 10),
    top_short: byWeight.filter((x) => x.weight < 0).reverse().slice(0, 10),
  };
  const json = { ...result, portfolio: cfg, costs: opts.setup.costs, features: names, weights: table.map((x) => ({ ...x, score: fin(x.score) })) };
  writeFileSync(files.json, JSON.stringify({ ...json, top_long: json.top_long.map((x) => ({ ...x, score: fin(x.score) })), top_short: json.top_short.map((x) => ({ ...x, score: fin(x.score) })) }, null, 2));
  writeFileSync(files.markdown, markdown(result));
  return result;
}

const pct = (x: number, d = 2) => `${(x * 100).toFixed(d)}%`;

/** One line per side: the largest weights, e.g. `AAPL 4.00%, MSFT 3.10%`. */
export function topLine(rows: ReadonlyArray<{ symbol: string; weight: number }>, n = 5): string {
  return rows.length ? rows.slice(0, n).map((x) => `${x.symbol} ${pct(x.weight)}`).join(', ') : 'none';
}

function markdown(r: ScoreResult): string {
  const row = (x: { symbol: string; score: number; weight: number }) => `| ${x.symbol} | ${Number.isFinite(x.score) ? x.score.toFixed(5) : 'not scored'} | ${pct(x.weight)} |`;
  const b = r.book;
  return [
    `# Scores for ${r.date}`,
    '',
    `Model **${r.model}** v${r.version}. Universe ${r.n_universe}, scored ${r.n_scored}; held after today's trades: ${r.n_long} long / ${r.n_short} short, ` +
      `gross ${pct(r.gross, 1)}, net ${pct(r.net, 1)}. NULL feature share ${pct(r.null_fraction)}.`,
    '',
    `Book: the gated backtest's construction (portfolio/score_book.ts): ${b.note}. Multiplier ${b.leverage.toFixed(3)}` +
      ` (vol target ${b.vol_leverage === null ? 'in warm-up' : b.vol_leverage.toFixed(3)}, Kelly ${b.kelly === null ? 'in warm-up' : b.kelly.toFixed(3)}), trade rate ${b.trade_rate}, turnover ${pct(b.turnover)}, traded at ${b.execution}.`,
    `Trade setup from ${b.portfolio_source}; portfolio config ${b.config_digest}, costs ${b.costs_digest}.`,
    '',
    '## Top longs',
    '',
    '| symbol | score | weight |',
    '|---|---|---|',
    ...r.top_long.map(row),
    ...(r.top_short.length ? ['', '## Top shorts', '', '| symbol | score | weight |', '|---|---|---|', ...r.top_short.map(row)] : []),
    '',
  ].join('\n');
}
