/**
 * Every artifact contract, by name. A new contract is one definition in one of the files of this
 * folder and one line here.
 */
import type { Contract } from './define.ts';
import { barsIntraday, dataQuality, ohlcvDaily, optionsChain, orderbookMessages, orderbookSnapshots } from './market.ts';
import { featuresPanel, labels, modelBundle, signalsOof, trialsLedger } from './research.ts';
import { backtestReturns, gateVerdict, portfolioWeights, rlDataset, rlPolicy, sizingPolicy } from './trading.ts';
import { executionCostModel, executionImpact, executionOrderPolicy, executionShortfall, exitsStudy, lobReplayCheck, mmCalibration, mmStudy } from './execution.ts';
import { hedgingStudy, optionsAudit, optionsBacktest, optionsFeatures, optionsIv, optionsRouter, optionsSurface, optionsTargets } from './options.ts';

export * from './define.ts';
export * from './market.ts';
export * from './research.ts';
export * from './trading.ts';

/** All contracts, in documentation order. */
export const CONTRACTS: readonly Contract[] = [
  ohlcvDaily,
  barsIntraday,
  optionsChain,
  orderbookMessages,
  orderbookSnapshots,
  dataQuality,
  featuresPanel,
  labels,
  signalsOof,
  trialsLedger,
  modelBundle,
  portfolioWeights,
  backtestReturns,
  gateVerdict,
  rlDataset,
  rlPolicy,
  sizingPolicy,
  lobReplayCheck,
  executionImpact,
  executionShortfall,
  executionOrderPolicy,
  executionCostModel,
  mmCalibration,
  mmStudy,
  exitsStudy,
  optionsAudit,
  optionsIv,
  optionsSurface,
  optionsFeatures,
  optionsTargets,
  optionsBacktest,
  optionsRouter,
  hedgingStudy,
];
