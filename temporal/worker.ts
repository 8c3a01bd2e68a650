/**
 * Shared set-up of the TradeML Temporal workers (temporal/cpu-worker.ts, temporal/gpu-worker.ts): connection from
 * the environment (temporal/config.ts), the step activities over the artifact store (local folder,
 * or S3 shared by every worker with TRADEML_ARTIFACTS=s3://…), the workflow code (cpu workers
 * only) from the prebuilt bundle or bundled at start, concurrency limits, graceful shutdown on
 * SIGINT/SIGTERM (running activities get `shutdownGraceTime` to end). As processes: the cpu worker
 * registers the search attributes and sweeps terminated runs (reaper.ts); the gpu worker sets up
 * XGBoost's device (gpu.ts).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Client } from '@temporalio/client';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { ArtifactStore } from '../artifacts/store.ts';
import { createTemporalActivities } from './activities.ts';
import { observerFor } from '../cli/observe.ts';
import type { Queue } from '../engine/plan.ts';
import { errorMessage } from '../lib/errors.ts';
import type { RunObserver } from '../tracking/observer.ts';
import { logger } from '../lib/log.ts';
import { PROJECT_ROOT, dataRoot, stateHome } from '../lib/paths.ts';
import { connectionOptions, describeSettings, temporalSettingsFromEnv, type TemporalSettings } from './config.ts';
import { taskQueueName } from './queues.ts';
import { configureGpuXGBoost } from './gpu.ts';
import { startReaper } from './reaper.ts';
import { ensureSearchAttributes } from './search-attributes.ts';
import { DEFAULT_BUNDLE_PATH, WORKFLOWS_PATH } from './workflow/build.ts';

export interface WorkerProcessOptions {
  queue: Queue;
  /** Activities executed at once by this process. */
  maxConcurrentActivities: number;
  /** Whether this worker also runs the pipeline workflows (cpu workers do). */
  workflows: boolean;
  /** Prebuilt workflow bundle (`npm run build:workflows`); bundled at start when missing. */
  bundlePath?: string;
  settings?: TemporalSettings;
  /** State home holding the shared artifact store (TRADEML_HOME). */
  home?: string;
  shutdownGraceMs?: number;
}

/** Parses a positive integer from an env var, with a default. */
export function envInt(name: string, fallback: number, env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return n;
}

/** Builds (does not run) a worker for one queue. The caller runs it and closes the connection. */
export async function createWorker(opts: WorkerProcessOptions): Promise<{ worker: Worker; connection: NativeConnection; settings: TemporalSettings; taskQueue: string; observer: RunObserver; home: string }> {
  const settings = opts.settings ?? temporalSettingsFromEnv();
  const home = path.resolve(opts.home ?? stateHome());
  const taskQueue = taskQueueName(settings.taskQueuePrefix, opts.queue);
  const log = logger.child({ worker: taskQueue });
  let connection: NativeConnection;
  try {
    connection = await NativeConnection.connect(connectionOptions(settings));
  } catch (e) {
    throw new Error(`cannot connect to Temporal at ${settings.address} (namespace ${settings.namespace}): ${errorMessage(e)} — start one with \`temporal server start-dev\` or set TEMPORAL_ADDRESS`);
  }
  const observer = await observerFor(home);
  const activities = createTemporalActivities({ artifacts: new ArtifactStore(path.join(home, 'artifacts')), projectRoot: PROJECT_ROOT, dataRoot: dataRoot(), log, observer });
  const options: WorkerOptions = {
    connection,
    namespace: settings.namespace,
    taskQueue,
    activities,
    maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivities,
    shutdownGraceTime: opts.shutdownGraceMs ?? 30_000,
  };
  if (opts.workflows) {
    const bundle = opts.bundlePath ?? DEFAULT_BUNDLE_PATH;
    if (existsSync(bundle)) options.workflowBundle = { codePath: bundle };
    else options.workflowsPath = WORKFLOWS_PATH;
  }
  try {
    const worker = await Worker.create(options);
    return { worker, connection, settings, taskQueue, observer, home };
  } catch (e) {
    await connection.close();
    throw e;
  }
}

/**
 * Runs a worker process until SIGINT/SIGTERM: logs where it polls (never credentials), then shuts
 * down gracefully (in-flight activities get the grace time; the server re-dispatches the rest).
 */
export async function runWorkerProcess(opts: WorkerProcessOptions): Promise<void> {
  if (opts.queue === 'gpu') {
    try {
      process.stderr.write(`${(await configureGpuXGBoost()).line}\n`);
    } catch (e) {
      process.stderr.write(`gpu worker: no libxgboost loads (${errorMessage(e).split('\n')[0]}); fit steps will fail until one is installed\n`);
    }
  }
  let created: Awaited<ReturnType<typeof createWorker>>;
  try {
    created = await createWorker(opts);
  } catch (e) {
    process.stderr.write(`error: ${errorMessage(e)}\n`);
    process.exitCode = 1;
    return;
  }
  const { worker, connection, settings, taskQueue } = created;
  const stop = (sig: string) => {
    process.stderr.write(`${sig}: shutting down ${taskQueue} worker (finishing running activities)…\n`);
    if (worker.getState() === 'RUNNING') worker.shutdown();
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  let reaper: ReturnType<typeof startReaper> | undefined;
  if (opts.workflows) {
    const client = new Client({ connection, namespace: settings.namespace });
    if (settings.searchAttributes) {
      const r = await ensureSearchAttributes(connection, settings.namespace);
      process.stderr.write(r.ok ? `search attributes ready${r.added.length ? ` (added ${r.added.join(', ')})` : ''}\n` : `warning: ${r.problem}\n`);
    }
    reaper = startReaper({ client, taskQueue, observer: created.observer, home: created.home, log: logger.child({ worker: taskQueue, part: 'reaper' }), everyMs: envInt('TRADEML_REAPER_EVERY_MS', 60_000) });
  }
  process.stderr.write(
    `trademl worker polling ${taskQueue} (${opts.workflows ? 'workflows + ' : ''}activities, max ${opts.maxConcurrentActivities} at once); ${describeSettings(settings)}; artifacts ${new ArtifactStore(path.join(created.home, 'artifacts')).location}\n`,
  );
  try {
    await worker.run();
  } catch (e) {
    process.stderr.write(`worker ${taskQueue} stopped: ${errorMessage(e)}\n`);
    process.exitCode = 1;
  } finally {
    await reaper?.stop();
    await connection.close();
  }
}
