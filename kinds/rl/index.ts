import type { StepKind } from '../types.ts';
import { rlDataset } from './dataset.ts';
import { rlOpe } from './ope.ts';
import { rlTrain } from './train.ts';

/** Step kinds of this concern, registered in kinds/registry.ts. */
export const kinds: StepKind[] = [rlDataset as StepKind, rlTrain as StepKind, rlOpe as StepKind];
