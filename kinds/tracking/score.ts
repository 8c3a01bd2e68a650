import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ohlcvDaily } from '../../contracts/index.ts';
import { StepError } from '../../lib/errors.ts';
import { artifactRefSchema, defineStepKind } from '../types.ts';
import { modelName } from './common.ts';

const scoreWith = z
  .object({
    model: z.string().optional().describe('registered model name; default params.model, else the pipeline name'),
    alias: z.string().default('champion').describe('model alias to score with'),
    date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date like 2018-02-07').optional().describe('trading date to score (YYYY-MM-DD); default the last date of the OHLCV'),
    portfolio: z.string().default('configs/portfolio.yml').describe('portfolio config, relative to the project root: used only when the model records no trade setup (gate report or backtest metrics)'),
    costs: z.string().default('configs/costs.yml').describe('transaction-cost config, relative to the project root: used only when the model records no trade setup'),
    fresh: z.boolean().default(false).describe('start a new book from flat even when a held book of the previous trading date exists'),
  })
  .strict();

/** The pointer files of a model's deployed books (name, size, mtime), leaving out the ones this step wrote itself. */
function booksFingerprint(home: string, model: string, inputsKey: string): string[] {
  const root = path.join(home, 'books', model);
  const out: string[] = [];
  const walk = (dir: string): void => {
    if (out.length > 100_000) return;
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.json')) {
        try {
          const doc = JSON.parse(readFileSync(p, 'utf8')) as { written_by?: string; state?: { digest?: string } };
          if (doc.written_by !== inputsKey) out.push(`${path.relative(root, p)}:${doc.state?.digest ?? statSync(p).mtimeMs}`);
        } catch {
          out.push(`${path.relative(root, p)}:unreadable`);
        }
      }
    }
  };
  try {
    walk(root);
  } catch (err) {
    out.push(`unlistable:${(err as Error).message}`);
  }
  return out.sort();
}

/**
 * `score.daily`: the champion's book for one date (what a small scoring host runs): the model's scores
 * of that date turned into the book the gated backtest trades (portfolio/score_book.ts `scoreBook`
 * with the trade setup recorded with the model), from the held book of the previous trading date
 * kept in `<home>/books/` (first day: from flat, said in `book_start`).
 */
export const scoreDaily = defineStepKind({
  uses: 'score.daily',
  version: '3',
  description:
    "Loads a model alias (default champion) and its feature list, builds the date's features from the upstream daily OHLCV, scores them and builds the gated backtest's book (rank z-score, vol target / Kelly, partial rebalancing from the held book of the previous trading date), writes target weights and a JSON/Markdown report",
  with: scoreWith,
  consumes: { ohlcv: { contract: ohlcvDaily, description: 'daily OHLCV the features of the scored date are built from (the audited view when an audit is upstream); prices after the date are never read' } },
  outputs: z.object({
    model: z.string().describe('registered model name'),
    version: z.string().describe('model version scored with'),
    date: z.string().describe('date scored'),
    n_universe: z.number().int().describe('symbols with features on the date'),
    n_scored: z.number().int().describe('symbols with a finite score'),
    n_long: z.number().int().describe('names held long after the day\'s trades'),
    n_short: z.number().int().describe('names held short after the day\'s trades'),
    gross: z.number().describe('gross exposure Σ|w|, fraction of capital'),
    net: z.number().describe('net exposure Σw, fraction of capital'),
    book_start: z.enum(['held', 'flat']).describe("'held': traded from the held book of the previous trading date; 'flat': no held book, the book starts from nothing held"),
    book_note: z.string().describe('which held book the day started from, in words'),
    leverage: z.number().describe('multiplier applied to the base book (vol target / Kelly, floor, ceiling)'),
    turnover: z.number().describe('Σ|Δw| traded from the held book, fraction of capital'),
    portfolio_source: z.string().describe('where the portfolio and cost configs came from'),
    config_digest: z.string().describe("digest of the portfolio config used (portfolio.build's config_digest)"),
    costs_digest: z.string().describe('digest of the cost config used'),
    book_state: artifactRefSchema.describe("the book's state after the day (held weights, sizing history) for the next trading date"),
    weights: artifactRefSchema.describe('weights Parquet (date, symbol, score, weight)'),
    report: artifactRefSchema.describe('score report JSON'),
    report_md: artifactRefSchema.describe('score report Markdown'),
  }),
  configFiles: (w) => [w.portfolio, w.costs],
  fingerprint: (w, env) => booksFingerprint(env.home, w.model ?? (typeof env.params.model === 'string' ? env.params.model : env.pipeline), env.inputsKey),
  async run(ctx, w) {
    const { openTracker } = await import('../../tracking/index.ts');
    const { ModelRegistry } = await import('../../tracking/registry.ts');
    const { BookStore, scoreDate, tradeSetupFor } = await import('../../tracking/score.ts');
    const src = ctx.input('ohlcv').value;
    const tracker = openTracker({ store: ctx.artifacts, home: ctx.home });
    try {
      const reg = new ModelRegistry(tracker);
      const name = modelName(ctx, w.model);
      const v = await reg.resolve(`${name}@${w.alias}`).catch((err: Error) => {
        throw new StepError({ message: `score.daily: ${err.message}`, type: 'NoModel', nonRetryable: true });
      });
      const files = await reg.fetchFiles(v, path.join(ctx.workDir, 'model'));
      const lineage = files.lineage ? (JSON.parse(readFileSync(files.lineage, 'utf8')) as Record<string, unknown>) : undefined;
      const setup = tradeSetupFor({ lineage, store: ctx.artifacts, projectRoot: ctx.projectRoot, portfolioPath: w.portfolio, costsPath: w.costs });
      const res = await scoreDate({
        model: name,
        version: v.version,
        onnxPath: files.onnx,
        featureListPath: files.featureList,
        sleeves: files.sleeves,
        stackerPath: files.stacker,
        ohlcvPath: ctx.artifacts.path(src),
        calendar: src.calendar,
        date: w.date,
        projectRoot: ctx.projectRoot,
        outDir: path.join(ctx.workDir, 'score'),
        setup,
        books: new BookStore(ctx.home, ctx.artifacts),
        fresh: w.fresh,
        writtenBy: ctx.inputsKey,
      });
      ctx.log.info({ date: res.date, start: res.book.start, source: res.book.portfolio_source }, res.book.note);
      const out = res.files;
      return {
        model: res.model,
        version: res.version,
        date: res.date,
        n_universe: res.n_universe,
        n_scored: res.n_scored,
        n_long: res.n_long,
        n_short: res.n_short,
        gross: res.gross,
        net: res.net,
        book_start: res.book.start,
        book_note: res.book.note,
        leverage: res.book.leverage,
        turnover: res.book.turnover,
        portfolio_source: res.book.portfolio_source,
        config_digest: res.book.config_digest,
        costs_digest: res.book.costs_digest,
        book_state: res.book.state,
        weights: await ctx.artifacts.putFile(out.weights, { name: 'weights.parquet', move: false }),
        report: await ctx.artifacts.putFile(out.json, { name: 'score.json', move: false }),
        report_md: await ctx.artifacts.putFile(out.markdown, { name: 'score.md', move: false }),
      };
    } finally {
      await tracker.close();
    }
  },
});
