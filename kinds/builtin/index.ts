import type { AnyStepKind } from '../types.ts';
import { noop } from './noop.ts';
import { shell } from './shell.ts';
import { sleep } from './sleep.ts';
import { fail } from './fail.ts';
import { approval } from './approval.ts';

/** Built-in kinds: engine plumbing and testing aids. */
export const kinds: AnyStepKind[] = [noop, shell, sleep, fail, approval];
