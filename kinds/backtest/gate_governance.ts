import { z } from 'zod';
import { backtestReturns, gateVerdict, signalsOof, sizingPolicy, trialsLedger } from '../../contracts/index.ts';
import { artifactRefSchema, defineStepKind } from '../types.ts';

export const gateConsumes = {
  returns: { contract: backtestReturns, description: 'the candidate strategy: path returns, metrics and the sleeve backtests' },
  trials: { contract: trialsLedger, many: true, description: "every trial ledger upstream: the DSR's number of trials and V[SR], PBO's trial return streams" },
  signals: {
    contract: signalsOof,
    many: true,
    description: 'every upstream signal: whether the returns come from a stack (non-empty components), calibration of classification sleeves',
  },
  sizing: { contract: sizingPolicy, many: true, optional: true, description: 'sizing policies decided by off-policy evaluation (OPE rows)' },
};

/** Outputs: the verdict contract, and its fields flat (the approval prompt, cli/core.ts `approvalTable`, shows a step's `bars`). */
export const gateOutputs = z.object({ verdict: gateVerdict.schema, ...gateVerdict.schema.shape });

/**
 * `gate.governance`: the promotion gate. Computes PSR/DSR (Bailey & López de Prado 2014) per CPCV path
 * with N and V[SR] from the trial ledgers, PBO by CSCV (Bailey et al. 2015) over the ledgers' trial
 * return streams, calibration of classification sleeves, the stack-vs-best-sleeve comparison, OPE rows
 * and an optional champion comparison; checks every bar of configs/promotion.yml. A failing blocking bar
 * throws StepError('GateFailed', non-retryable, cached as a deterministic failure) whose message is the
 * bar table and whose details hold the verdict.
 */
export const gateGovernance = defineStepKind({
  uses: 'gate.governance',
  version: '3',
  description: 'Promotion gate: Sharpe, MaxDD, PSR/DSR, PBO (CSCV), turnover, calibration, stack vs sleeves, OPE, champion',
  with: z
    .object({
      bars: z.string().default('configs/promotion.yml').describe('promotion bars config, relative to the project root'),
      champion: artifactRefSchema.optional().describe("the champion's backtest returns Parquet (path, date, net), looked up in the registry by the caller"),
    })
    .strict(),
  consumes: gateConsumes,
  provides: { verdict: gateVerdict },
  outputs: gateOutputs,
  configFiles: (w) => [w.bars],
  deterministicFailures: ['GateFailed'],
  async run(ctx, w) {
    const { evaluateGate } = await import('./gate_eval.ts');
    return evaluateGate(ctx, w);
  },
});
