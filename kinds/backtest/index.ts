import type { StepKind } from '../types.ts';
import { portfolioBuild } from './portfolio_build.ts';
import { backtestCpcvPaths } from './backtest_cpcv.ts';
import { gateGovernance } from './gate_governance.ts';

/** Step kinds of this concern, registered in kinds/registry.ts. */
export const kinds: StepKind[] = [portfolioBuild as unknown as StepKind, backtestCpcvPaths as unknown as StepKind, gateGovernance as unknown as StepKind];
