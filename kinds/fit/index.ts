import type { StepKind } from '../types.ts';
import { fitCpcv } from './cpcv.ts';
import { fitLinear } from './linear.ts';
import { stackOof } from './stack.ts';

/** Step kinds of this concern, registered in kinds/registry.ts. */
export const kinds: StepKind[] = [fitCpcv, stackOof, fitLinear] as StepKind[];
