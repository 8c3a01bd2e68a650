import { spawn } from 'node:child_process';
import { z } from 'zod';
import { StepError } from '../../lib/errors.ts';
import { defineStepKind } from '../types.ts';

const TAIL = 4000;

/**
 * Runs a command with `bash -c` in the checkout root (or `cwd`), streaming its output to the
 * step log. Non-zero exit → StepError `ShellExitError`; aborted → the process group is killed.
 */
export const shell = defineStepKind({
  uses: 'shell',
  version: '1',
  description: 'Runs a shell command (bash -c); fails on a non-zero exit code.',
  with: z
    .object({
      run: z.string().min(1).describe('the command line (bash -c)'),
      cwd: z.string().optional().describe('working directory (default: the checkout root)'),
      env: z.record(z.string(), z.string()).default({}).describe('extra environment variables for the command'),
    })
    .strict(),
  outputs: z.object({ exit_code: z.number().int().describe('exit code (0)'), stdout_tail: z.string().describe('last 4,000 characters of stdout') }),
  async run(ctx, w) {
    const child = spawn('bash', ['-c', w.run], {
      cwd: w.cwd ?? ctx.projectRoot,
      env: { ...process.env, ...w.env, TRADEML_RUN_ID: ctx.runId, TRADEML_STEP_ID: ctx.stepId },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
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
    const code: number = await new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (c, sig) => resolve(c ?? (sig ? 128 : 1)));
    });
    ctx.signal.removeEventListener('abort', kill);
    if (ctx.signal.aborted) throw new StepError({ message: `command aborted: ${w.run}`, type: 'Cancelled', nonRetryable: true });
    if (code !== 0) throw new StepError({ message: `command exited with code ${code}: ${w.run}\n${tail.slice(-800)}`, type: 'ShellExitError' });
    return { exit_code: code, stdout_tail: tail };
  },
});
