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
    quantile: z.number().gt(0).max(0.5).default(0.1).describe('top/bottom fraction of the universe held long/short'),
    gross: z.number().positive().max(10).default(1).describe('gross exposure, fraction of capital'),
    long_only: z.boolean().default(false).describe('long the top quantile only'),
  })
  .strict();

/** `score.daily`: the champion's targets for one date (what a small scoring host runs). */
export const scoreDaily = defineStepKind({
  uses: 'score.daily',
  version: '2',
  description: "Loads a model alias (default champion) and its feature list, builds the date's features from the upstream daily OHLCV, writes target weights and a JSON/Markdown report",
  with: scoreWith,
  consumes: { ohlcv: { contract: ohlcvDaily, description: 'daily OHLCV the features of the scored date are built from (the audited view when an audit is upstream)' } },
  outputs: z.object({
    model: z.string().describe('registered model name'),
    version: z.string().describe('model version scored with'),
    date: z.string().describe('date scored'),
    n_universe: z.number().int().describe('symbols with features on the date'),
    n_scored: z.number().int().describe('symbols with a finite score'),
    n_long: z.number().int().describe('long positions'),
    n_short: z.number().int().describe('short positions'),
    gross: z.number().describe('gross exposure Σ|w|'),
    net: z.number().describe('net exposure Σw'),
    weights: artifactRefSchema.describe('weights Parquet (date, symbol, score, weight)'),
    report: artifactRefSchema.describe('score report JSON'),
    report_md: artifactRefSchema.describe('score report Markdown'),
  }),
  async run(ctx, w) {
    const { openTracker } = await import('../../tracking/index.ts');
    const { ModelRegistry } = await import('../../tracking/registry.ts');
    const { scoreDate } = await import('../../tracking/score.ts');
    const src = ctx.input('ohlcv').value;
    const tracker = openTracker({ store: ctx.artifacts, home: ctx.home });
    try {
      const reg = new ModelRegistry(tracker);
      const name = modelName(ctx, w.model);
      const v = await reg.resolve(`${name}@${w.alias}`).catch((err: Error) => {
        throw new StepError({ message: `score.daily: ${err.message}`, type: 'NoModel', nonRetryable: true });
      });
      const files = await reg.fetchFiles(v, path.join(ctx.workDir, 'model'));
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
        scheme: { quantile: w.quantile, gross: w.gross, longOnly: w.long_only },
      });
      const { files: out, top_long: _l, top_short: _s, null_fraction: _n, ...summary } = res;
      return {
        ...summary,
        weights: await ctx.artifacts.putFile(out.weights, { name: 'weights.parquet', move: false }),
        report: await ctx.artifacts.putFile(out.json, { name: 'score.json', move: false }),
        report_md: await ctx.artifacts.putFile(out.markdown, { name: 'score.md', move: false }),
      };
    } finally {
      await tracker.close();
    }
  },
});
