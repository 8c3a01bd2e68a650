import { z } from 'zod';
import { familyOf } from './gate_family.ts';
import { backtestReturns, gateVerdict, ohlcvDaily, signalsOof, sizingPolicy, trialsLedger } from '../../contracts/index.ts';
import { artifactRefSchema, defineStepKind } from '../types.ts';

export const gateConsumes = {
  returns: { contract: backtestReturns, description: 'the candidate strategy: path returns, metrics and the sleeve backtests' },
  trials: { contract: trialsLedger, many: true, description: "every trial ledger upstream: each trial's OOF scores, traded through the candidate's portfolio and costs into the family's persistent ledger (DSR's N, effective N and V[SR]; PBO's trial set)" },
  ohlcv: { contract: ohlcvDaily, description: 'the daily prices the candidate was backtested on: the trials are traded on them' },
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
 * `gate.governance`: the promotion gate. Trades every trial of the bound ledgers through the
 * candidate's portfolio and costs and appends them (with the candidate book and the sizing policy not
 * kept) to the family's persistent, append-only trial ledger on the tracker; computes PSR and DSR
 * (Bailey & López de Prado 2014) per CPCV path with the effective number of trials (ONC clusters of
 * the family's trial streams, López de Prado 2019) and V[SR] across the cluster representatives,
 * PBO by CSCV over that trial set decided together with P(OOS loss) (Bailey et al. 2015), an OOF
 * leakage check, calibration of classification sleeves, the stack-vs-best-sleeve comparison, OPE
 * rows and an optional champion comparison; checks every bar of configs/promotion.yml. A failing bar
 * is an outcome: the verdict has passed false and lists every failing bar; pipelines gate the
 * approval on it with `if: "${{ steps.<gate>.outputs.verdict.passed }}"`.
 * Not cacheable in a pipeline that must count other runs' trials: the ledger lives outside the
 * cache key, so pipelines set `cache: off` on the gate (its known evaluations are read back, not re-traded).
 */
export const gateGovernance = defineStepKind({
  uses: 'gate.governance',
  version: '4',
  description: 'Promotion gate: Sharpe, MaxDD, PSR/DSR (effective N from the persistent trial ledger), PBO (CSCV) with P(OOS loss), turnover, OOF leakage, calibration, stack vs sleeves, OPE, champion; returns the verdict',
  with: z
    .object({
      bars: z.string().default('configs/promotion.yml').describe('promotion bars config, relative to the project root'),
      champion: artifactRefSchema.optional().describe("the champion's backtest returns Parquet (path, date, net), looked up in the registry by the caller"),
      family: z.string().min(1).optional().describe("model family whose persistent trial ledger counts the trials; default params.model, else the pipeline name"),
      portfolio: z.string().default('configs/portfolio.yml').describe("portfolio config the trials are traded with when the backtest's metrics do not record the candidate's"),
      costs: z.string().default('configs/costs.yml').describe("cost config the trials are traded with when the backtest's metrics do not record the candidate's"),
    })
    .strict(),
  consumes: gateConsumes,
  provides: { verdict: gateVerdict },
  outputs: gateOutputs,
  configFiles: (w) => [w.bars, w.portfolio, w.costs],
  /**
   * The family ledger's head without this step's own writes: trials recorded by other runs
   * invalidate a cached verdict; an unchanged re-run (same inputs) stays cached.
   */
  async fingerprint(w, env) {
    const { ledgerHead } = await import('./gate_ledgers.ts');
    return ledgerHead(env, familyOf(env, w.family));
  },
  async run(ctx, w) {
    const { evaluateGate } = await import('./gate_eval.ts');
    return evaluateGate(ctx, w);
  },
});
