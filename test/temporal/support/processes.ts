/**
 * Worker and CLI processes for the live suites: real OS processes (`node --import tsx`), each with
 * its own environment and state home, their output captured (to check what they log).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** A started worker process and everything it printed so far. */
export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  output(): string;
  /** Resolves once the worker printed that it polls its queue. */
  ready: Promise<void>;
  /** SIGTERM (graceful) and wait for the exit. */
  stop(): Promise<void>;
}

/** Starts temporal/cpu-worker.ts or temporal/gpu-worker.ts as its own process with `env` added. */
export function startWorkerProcess(queue: 'cpu' | 'gpu', env: Record<string, string>): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'temporal', `${queue}-worker.ts`)], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let onReady: () => void = () => {};
  let onFail: (e: Error) => void = () => {};
  const ready = new Promise<void>((resolve, reject) => {
    onReady = resolve;
    onFail = reject;
  });
  const take = (b: Buffer) => {
    out += b.toString();
    if (out.includes('trademl worker polling')) onReady();
  };
  child.stdout!.on('data', take);
  child.stderr!.on('data', take);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.once('exit', (code, sig) => onFail(new Error(`${queue} worker exited (${code ?? sig}) before it polled:\n${out.slice(-3000)}`)));
  return {
    child,
    pid: child.pid!,
    output: () => out,
    ready,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
