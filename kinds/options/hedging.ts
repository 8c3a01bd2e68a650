/**
 * `options.hedging`: deep hedging (Buehler, Gonon, Teichmann & Wood 2019) of a short ATM straddle —
 * a small network trained with a CVaR objective on GBM paths at the NIFTY ATM IV level and on Heston
 * paths fitted to India VIX² (options/hedging/) — against Black–Scholes delta hedging, out of sample
 * on real NIFTY paths (and fresh simulated ones): mean, variance and CVaR of the hedged P&L side by
 * side. Calibration reads data up to `train_end` only. Prefers the `gpu` queue (tfjs training).
 */
import { z } from 'zod';
import { dataQuality, ohlcvDaily } from '../../contracts/index.ts';
import { hedgingStudy, optionsFeatures } from '../../contracts/options.ts';
import { defineStepKind } from '../types.ts';
import { hedgingConfigSchema, loadOptionsConfig } from './config.ts';

export const optionsHedgingKind = defineStepKind({
  uses: 'options.hedging',
  version: '1',
  description: 'Deep hedging (CVaR, tfjs) of a short ATM straddle trained on GBM/Heston paths calibrated to NIFTY, vs Black–Scholes delta on real NIFTY paths: mean, variance, CVaR',
  with: z.strictObject({
    config: z.string().default('configs/options/hedging.yml').describe('study config, relative to the project root'),
    nifty_symbol: z.string().default('NIFTY 50').describe('underlying symbol in the index input'),
    vix_symbol: z.string().default('INDIA VIX').describe('volatility-index symbol in the index input (Heston fit)'),
  }),
  consumes: {
    features: { contract: optionsFeatures, description: 'options features (ATM IV for the GBM level and the real paths’ premiums)' },
    index: { contract: ohlcvDaily, description: 'daily closes of NIFTY 50 and INDIA VIX' },
    quality: { contract: dataQuality, many: true, optional: true, description: 'audits upstream: a RED date inside the study’s window refuses the step' },
  },
  provides: { study: hedgingStudy },
  outputs: z.object({
    study: hedgingStudy.schema,
    real_bs_cvar95_bps: z.number().nullable().describe('CVaR 95 % of BS-delta-hedged P&L on real paths, bps'),
    real_deep_heston_cvar95_bps: z.number().nullable().describe('CVaR 95 % of the Heston-trained network on real paths, bps'),
    real_deep_gbm_cvar95_bps: z.number().nullable().describe('CVaR 95 % of the GBM-trained network on real paths, bps'),
  }),
  defaultQueue: 'gpu',
  configFiles: (w) => [w.config],
  async run(ctx, w) {
    const cfg = loadOptionsConfig(ctx.projectRoot, w.config, hedgingConfigSchema);
    const { hedgingStudy: study } = await import('../../options/hedging/study.ts');
    const { readCloses, readFeatureTable } = await import('./io.ts');
    const { assertNotRedWithin } = await import('./guard.ts');
    const { fin } = await import('./tables.ts');
    const idx = ctx.input('index');
    const series = await readCloses(ctx.artifacts.path(idx.value), [w.nifty_symbol, w.vix_symbol], idx.step);
    const feats = await readFeatureTable(ctx.artifacts.path(ctx.input('features').value.table));
    assertNotRedWithin(ctx.inputs('quality'), cfg.heston_from, series[w.nifty_symbol]!.at(-1)!.date);
    ctx.progress({ fraction: 0.05, message: `training deep hedgers (${cfg.deep.iterations} iterations × 2, ${cfg.n_train} paths each)` });
    const st = await study(feats, series[w.nifty_symbol]!, series[w.vix_symbol]!, {
      steps: cfg.steps, trainEnd: cfg.train_end, testStart: cfg.test_start, hestonFrom: cfg.heston_from, nTrain: cfg.n_train, nSimTest: cfg.n_sim_test,
      costRate: cfg.cost_rate, alpha: cfg.alpha, seed: cfg.seed,
      deep: { hidden: cfg.deep.hidden, iterations: cfg.deep.iterations, batch: cfg.deep.batch, learningRate: cfg.deep.learning_rate },
    });
    const table = st.table.map((r) => ({ paths: r.paths, hedger: r.hedger, n: r.n, mean_bps: fin(r.mean), std_bps: fin(r.std), variance_bps2: fin(r.variance), cvar95_bps: fin(r.cvar95) }));
    const training = Object.fromEntries(Object.entries(st.training).map(([k, v]) => [k, { seconds: v.seconds, first_loss: v.firstLoss, final_loss: v.finalLoss }]));
    const real = (h: string) => table.find((r) => r.paths === 'real' && r.hedger === h)?.cvar95_bps ?? null;
    return {
      study: { calendar: 'nse', table, sigma_gbm: st.sigmaGbm, heston: st.heston, train_end: cfg.train_end, test_start: cfg.test_start, real_paths: st.realPaths, training },
      real_bs_cvar95_bps: real('bs_delta'), real_deep_heston_cvar95_bps: real('deep_heston'), real_deep_gbm_cvar95_bps: real('deep_gbm'),
    };
  },
});
