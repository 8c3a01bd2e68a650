import { z } from 'zod';
import { backtestReturns, gateVerdict, modelBundle, signalsOof, sizingPolicy, trialsLedger, rlPolicy, type Contract } from '../../../contracts/index.ts';
import { STEP_KINDS } from '../../../kinds/registry.ts';
import { defineStepKind, type AnyStepKind, type Provides } from '../../../kinds/types.ts';

/**
 * Step kinds no production code knows by name, each providing contracts the way a new kind would:
 * the tracking and report views must handle their outputs with no edit anywhere. They only declare
 * what they provide (the fixtures hand their outputs to the views directly); `run` is never called.
 */
function fixtureKind(uses: string, provides: Provides): AnyStepKind {
  const shape = Object.fromEntries(Object.entries(provides).map(([k, c]: [string, Contract]) => [k, c.schema]));
  return defineStepKind({
    uses,
    version: '1',
    description: `test fixture providing ${Object.values(provides).map((c) => c.name).join(', ')}`,
    with: z.object({}).passthrough(),
    outputs: z.object(shape).passthrough(),
    provides,
    async run() {
      throw new Error(`${uses} is a test fixture: its outputs are given, it never runs`);
    },
  });
}

/** A learner of a kind nobody registered: OOF signals, its trial ledger and a model bundle. */
export const learnerKind = fixtureKind('fixture.learner', { oof: signalsOof, trials: trialsLedger, model: modelBundle });
/** A blender of OOF signals: a signal whose components are the blended sleeves. */
export const blendKind = fixtureKind('fixture.blend', { oof: signalsOof });
/** A backtest: path returns of a signal. */
export const backtestKind = fixtureKind('fixture.backtest', { returns: backtestReturns });
/** An off-policy evaluation: the sizing decision. */
export const sizingKind = fixtureKind('fixture.sizing', { sizing: sizingPolicy });
/** A promotion gate: its verdict. */
export const gateKind = fixtureKind('fixture.gate', { verdict: gateVerdict });
/** An RL trainer: a policy with training curves. */
export const policyKind = fixtureKind('fixture.policy', { policy: rlPolicy });

/** The registered kinds plus the fixture kinds (what the binder of a test context sees). */
export const TEST_KINDS: ReadonlyMap<string, AnyStepKind> = new Map([...STEP_KINDS, ...[learnerKind, blendKind, backtestKind, sizingKind, gateKind, policyKind].map((k) => [k.uses, k] as const)]);
