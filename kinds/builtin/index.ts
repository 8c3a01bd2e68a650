import type { StepKind } from '../types.ts';
import { noop } from './noop.ts';
import { shell } from './shell.ts';
import { sleep } from './sleep.ts';
import { fail } from './fail.ts';
import { approval } from './approval.ts';

/** Built-in kinds: engine plumbing and testing aids. */
export const kinds: StepKind[] = [noop, shell, sleep, fail, approval] as StepKind[];
