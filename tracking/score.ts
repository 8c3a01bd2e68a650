import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { queryRows, sqlString, withDuckDB } from '../lib/duckdb.ts';
import { calendarFor } from '../calendar/calendar.ts';
import { UserError } from '../lib/errors.ts';
import { featureNames } from './registry.ts';

/** How scores become target weights. */
export interface WeightScheme {
  /** Fraction of the scored universe held on each side (top `quantile` long, bottom short). */
  quantile: number;
  /** Total gross exposure as a fraction of capital (long-short: half per side). */
  gross: number;
  /** Long the top quantile only (weights sum to `gross`). */
  longOnly: boolean;
}

export interface ScoreResult {
  model: string;
  version: string;
  date: string;
  n_universe: number;
  n_scored: number;
  n_long: number;
  n_short: number;
  gross: number;
  net: number;
  /** Fraction of feature values that were NULL (warm-up/missing) on that date. */
  null_fraction: number;
  files: { weights: string; json: string; markdown: string };
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
 * Scores one date with a model: computes that date's features from the canonical OHLCV Parquet
 * (history before the date is used for warm-up, nothing after it), runs the ONNX model
 * (onnxruntime-node, input [N, F] float32, NaN for NULL features), turns scores into target weights
 * (equal weight within the top/bottom quantile) and writes `weights.parquet`
 * (date, symbol, score, weight), `score.json` and `score.md` to `outDir`.
 * With several `sleeves` and a `stackerPath` (the blend's stack weights JSON), the score is
 * `intercept + Σ weight[sleeve] · z(sleeve score)` with z the per-date cross-sectional z-score, as the
 * stacker was fitted. `date` defaults to the last date in the OHLCV. Throws a UserError when the
 * date has no rows.
 */
export async function scoreDate(opts: {
  model: string;
  version: string;
  onnxPath: string;
  featureListPath: string;
  sleeves?: Array<{ sleeve: string; onnx: string; featureList: string }>;
  stackerPath?: string;
  ohlcvPath: string;
  /** Trading calendar of the OHLCV (calendar/calendar.ts): sizes the warm-up history. */
  calendar: string;
  date?: string;
  projectRoot: string;
  outDir: string;
  scheme: WeightScheme;
}): Promise<ScoreResult> {
  if (!(opts.scheme.quantile > 0 && opts.scheme.quantile <= 0.5)) throw new UserError({ message: `quantile must be in (0, 0.5], got ${opts.scheme.quantile}` });
  mkdirSync(opts.outDir, { recursive: true });
  const base: SleeveBase = { ohlcvPath: opts.ohlcvPath, calendar: opts.calendar, date: opts.date, projectRoot: opts.projectRoot };
  const names = featureNames(JSON.parse(readFileSync(opts.featureListPath, 'utf8')) as unknown);
  const { date, combined, nUniverse, nulls, cells } =
    opts.sleeves && opts.sleeves.length > 1
      ? await blendedScores(opts, opts.sleeves, base)
      : await sleeveScores({ ...base, onnxPath: opts.onnxPath, featureListPath: opts.featureListPath, workDir: opts.outDir, label: `model ${opts.model} v${opts.version}` }).then((r) => ({ ...r, combined: r.scores }));
  const rows = [...combined].map(([symbol, score]) => ({ symbol, score }));
  const scores = rows.map((r) => r.score);
  const scored = rows.map((r, i) => ({ symbol: r.symbol, score: scores[i]! })).filter((x) => Number.isFinite(x.score));
  scored.sort((a, b) => b.score - a.score || a.symbol.localeCompare(b.symbol));
  const k = Math.max(1, Math.floor(scored.length * opts.scheme.quantile));
  const longs = scored.slice(0, k);
  const shorts = opts.scheme.longOnly ? [] : scored.slice(-k).filter((s) => !longs.includes(s));
  const perLong = opts.scheme.longOnly ? opts.scheme.gross / longs.length : opts.scheme.gross / 2 / longs.length;
  const perShort = shorts.length ? opts.scheme.gross / 2 / shorts.length : 0;
  const weight = new Map<string, number>([...longs.map((s) => [s.symbol, perLong] as const), ...shorts.map((s) => [s.symbol, -perShort] as const)]);
  const table = scored.map((s) => ({ ...s, weight: weight.get(s.symbol) ?? 0 }));

  const files = { weights: path.join(opts.outDir, 'weights.parquet'), json: path.join(opts.outDir, 'score.json'), markdown: path.join(opts.outDir, 'score.md') };
  const csv = path.join(opts.outDir, 'weights.csv');
  writeFileSync(csv, 'symbol,score,weight\n' + table.map((t) => `${t.symbol},${t.score},${t.weight}`).join('\n') + '\n');
  await withDuckDB((con) =>
    con.run(`COPY (SELECT DATE ${sqlString(date)} AS date, symbol, CAST(score AS DOUBLE) AS score, CAST(weight AS DOUBLE) AS weight FROM read_csv(${sqlString(csv)}, header=true, columns={'symbol':'VARCHAR','score':'DOUBLE','weight':'DOUBLE'}) ORDER BY symbol) TO ${sqlString(files.weights)} (FORMAT parquet)`),
  );
  const gross = table.reduce((a, t) => a + Math.abs(t.weight), 0);
  const net = table.reduce((a, t) => a + t.weight, 0);
  const result: ScoreResult = {
    model: opts.model,
    version: opts.version,
    date,
    n_universe: nUniverse,
    n_scored: scored.length,
    n_long: longs.length,
    n_short: shorts.length,
    gross,
    net,
    null_fraction: cells ? nulls / cells : 0,
    files,
    top_long: table.slice(0, 10),
    top_short: opts.scheme.longOnly ? [] : table.slice(-10).reverse(),
  };
  writeFileSync(files.json, JSON.stringify({ ...result, scheme: opts.scheme, features: names, weights: table }, null, 2));
  writeFileSync(files.markdown, markdown(result, opts.scheme));
  return result;
}

function markdown(r: ScoreResult, s: WeightScheme): string {
  const row = (t: { symbol: string; score: number; weight: number }) => `| ${t.symbol} | ${t.score.toFixed(5)} | ${(t.weight * 100).toFixed(2)}% |`;
  return [
    `# Scores for ${r.date}`,
    '',
    `Model **${r.model}** v${r.version}. Universe ${r.n_universe}, scored ${r.n_scored}; ${r.n_long} long / ${r.n_short} short ` +
      `(${s.longOnly ? 'long-only' : 'long-short'}, quantile ${s.quantile}, gross ${(r.gross * 100).toFixed(1)}%, net ${(r.net * 100).toFixed(1)}%). ` +
      `NULL feature share ${(r.null_fraction * 100).toFixed(2)}%.`,
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
