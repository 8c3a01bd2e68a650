import type { StepKind } from '../types.ts';

/** Step kinds of this concern, registered in activities/registry.ts. */
export const kinds: StepKind[] = [];
