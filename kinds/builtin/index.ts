import type { AnyStepKind } from '../types.ts';
import { noop } from './noop.ts';
import { shell } from './shell.ts';
import { sleep } from './sleep.ts';
import { fail } from './fail.ts';
import { approval } from './approval.ts';

/**
 * Built-in kinds: engine plumbing and testing aids.
 *
 * Idempotency (what a resumed or retried step may do twice): `noop`, `sleep`, `fail` and
 * `approval` have no side effects and are idempotent. `shell` is idempotent only when its command
 * is: after a crash, `trademl resume` first stops the process group the dead run left behind
 * (kinds/builtin/processes.ts), then runs the command again from the start. Kinds whose only
 * effect is writing artifacts are idempotent by construction: outputs are content-addressed and
 * renamed into place, so a repeated attempt rewrites the same bytes at the same address. Kinds
 * with effects outside the run (registering or promoting a model, tracking) say so themselves.
 */
export const kinds: AnyStepKind[] = [noop, shell, sleep, fail, approval];
