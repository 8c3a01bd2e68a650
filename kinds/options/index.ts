/**
 * Step kinds of the options volatility sleeve (issue 19), registered in kinds/registry.ts: chain
 * audit → implied vols and greeks → SVI/SSVI surface, options features, straddle targets → CPCV
 * learner → options backtest → sleeve gate; strategy router, deep hedging; the sleeve's report.
 */
import type { AnyStepKind } from '../types.ts';
import { optionsChainAudit } from './audit.ts';
import { optionsBacktestKind } from './backtest.ts';
import { optionsFeaturesKind } from './features.ts';
import { optionsFit } from './fit.ts';
import { optionsGate } from './gate.ts';
import { optionsHedgingKind } from './hedging.ts';
import { optionsIvKind } from './iv.ts';
import { optionsReport } from './report.ts';
import { optionsRouterKind } from './router.ts';
import { optionsSurfaceKind } from './surface.ts';
import { optionsTargetsKind } from './targets.ts';

/** Step kinds of this concern. */
export const kinds: AnyStepKind[] = [optionsChainAudit, optionsIvKind, optionsSurfaceKind, optionsFeaturesKind, optionsTargetsKind, optionsFit, optionsBacktestKind, optionsRouterKind, optionsHedgingKind, optionsGate, optionsReport] as AnyStepKind[];
