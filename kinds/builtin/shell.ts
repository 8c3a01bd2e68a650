import { spawn } from 'node:child_process';
import { z } from 'zod';
import { StepError } from '../../lib/errors.ts';
import { defineStepKind, type StepContext } from '../types.ts';
import { declareCommandFields } from './command.ts';
import { forgetProcessGroup, processStartTicks, recordProcessGroup } from './processes.ts';

const TAIL = 4000;

/** Variables every command gets from the parent environment when set (nothing else is inherited unless `inherit_env` names it). */
export const BASE_ENV = ['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LC_ALL', 'LC_CTYPE', 'TZ', 'TMPDIR', 'TERM'] as const;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** An environment value as the command sees it: strings as they are, anything else as JSON. */
function envText(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v) ?? '';
}

/**
 * The environment of a command: {@link BASE_ENV} and the `inherit_env` names taken from `parent`,
 * then the step's `env`, then TRADEML_RUN_ID / TRADEML_STEP_ID. Secrets in the parent (tokens,
 * keys) reach the command only when the step names them.
 */
export function commandEnv(parent: NodeJS.ProcessEnv, inherit: readonly string[], env: Record<string, unknown>, ids: { runId: string; stepId: string }): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of [...BASE_ENV, ...inherit]) if (parent[k] !== undefined) out[k] = parent[k]!;
  for (const [k, v] of Object.entries(env)) out[k] = envText(v);
  out.TRADEML_RUN_ID = ids.runId;
  out.TRADEML_STEP_ID = ids.stepId;
  return out;
}

/**
 * Runs a command with `bash -c` in the checkout root (or `cwd`), streaming its output to the step
 * log. Values reach the command only through environment variables: a `${{ … }}` written inside
 * `run` is moved into `env` by the compiler (`trademl validate` warns about it); the safe pattern
 * is `env: { NAME: "${{ params.x }}" }` and `run: 'echo "$NAME"'`. The child's environment is
 * minimal ({@link commandEnv}). The process group is recorded in the state home while it runs, so
 * `trademl resume` after a crash stops a leftover group before the step runs again. Not idempotent
 * unless the command is: a resumed or retried step runs it again. Non-zero exit → StepError
 * `ShellExitError`; aborted → the process group is killed.
 */
export const shell = declareCommandFields(
  defineStepKind({
    uses: 'shell',
    version: '2',
    description:
      'Runs a shell command (bash -c); fails on a non-zero exit code. Pass values as environment variables: `env: { NAME: "${{ params.x }}" }` with `run: \'echo "$NAME"\'` (a `${{ }}` written inside `run` is moved into a variable too, and `validate` warns). The command gets a minimal environment (PATH, HOME, USER, LANG, TZ, TMPDIR, TERM …) plus `env` and `inherit_env`. Not idempotent unless the command is: a resumed run first stops the process group a crashed run left, then runs the command again.',
    with: z
      .object({
        run: z.string().min(1).max(100_000).describe('the command line (bash -c); read values from environment variables, e.g. "$NAME"'),
        cwd: z.string().max(4096).optional().describe('working directory (default: the checkout root)'),
        env: z
          .record(z.string().regex(ENV_NAME, 'environment variable names use letters, digits and _'), z.unknown())
          .default({})
          .describe('environment variables for the command (values may be `${{ }}` expressions; non-strings are passed as JSON)'),
        inherit_env: z
          .array(z.string().regex(ENV_NAME, 'environment variable names use letters, digits and _'))
          .max(200)
          .default([])
          .describe('names of variables the command inherits from the trademl process besides the minimal set (e.g. a token it needs)'),
      })
      .strict(),
    outputs: z.object({ exit_code: z.number().int().describe('exit code (0)'), stdout_tail: z.string().describe('last 4,000 characters of stdout') }),
    async run(ctx, w) {
      const code = await runCommand(ctx, w.run, w.cwd ?? ctx.projectRoot, commandEnv(process.env, w.inherit_env, w.env, ctx));
      if (ctx.signal.aborted) throw new StepError({ message: `command aborted: ${w.run}`, type: 'Cancelled', nonRetryable: true });
      if (code.exit !== 0) throw new StepError({ message: `command exited with code ${code.exit}: ${w.run}\n${code.tail.slice(-800)}`, type: 'ShellExitError' });
      return { exit_code: code.exit, stdout_tail: code.tail };
    },
  }),
  ['run'],
);

/** Spawns `bash -c command` in its own process group (recorded while it runs); resolves with the exit code and the stdout tail. */
async function runCommand(ctx: StepContext, command: string, cwd: string, env: Record<string, string>): Promise<{ exit: number; tail: string }> {
  const child = spawn('bash', ['-c', command], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let record: string | undefined;
  if (child.pid !== undefined) {
    record = recordProcessGroup(ctx.home, {
      runId: ctx.runId, stepId: ctx.stepId, attempt: ctx.attempt, pgid: child.pid, startTicks: processStartTicks(child.pid), startedAt: Date.now(), command: command.slice(0, 500),
    });
  }
  let tail = '';
  child.stdout.on('data', (b: Buffer) => {
    tail = (tail + b.toString()).slice(-TAIL);
    ctx.log.info({ stream: 'stdout' }, b.toString().trimEnd());
  });
  child.stderr.on('data', (b: Buffer) => ctx.log.info({ stream: 'stderr' }, b.toString().trimEnd()));
  const kill = () => {
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      /* already gone */
    }
  };
  ctx.signal.addEventListener('abort', kill, { once: true });
  try {
    const exit: number = await new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (c, sig) => resolve(c ?? (sig ? 128 : 1)));
    });
    return { exit, tail };
  } finally {
    ctx.signal.removeEventListener('abort', kill);
    if (record) forgetProcessGroup(record);
  }
}
