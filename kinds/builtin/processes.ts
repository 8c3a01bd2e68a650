/**
 * Process groups of running steps, recorded in the state home so that a run whose process died
 * (kill -9) can stop what its steps left behind before they run again.
 *
 * A step that spawns a process group writes `<home>/processes/<run>/<step>.json` (pid = pgid,
 * attempt, the process's start time from /proc) right after spawning and removes it when the group
 * ended. `resume` calls {@link killStaleProcessGroups} first: every group still alive is sent
 * SIGTERM, then SIGKILL after a grace period, and its record removed. The start time guards
 * against a recycled pid: a live process whose start time differs is not ours and is left alone.
 */
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** What is recorded about one spawned process group. */
export interface ProcessGroupRecord {
  runId: string;
  stepId: string;
  attempt: number;
  /** Process id of the group leader (= the group id: spawned with `detached: true`). */
  pgid: number;
  /** Start time of the leader in clock ticks since boot (/proc/<pid>/stat field 22), when known. */
  startTicks: number | null;
  /** Epoch ms. */
  startedAt: number;
  command: string;
}

/** What {@link killStaleProcessGroups} did with one record. */
export interface StaleGroupOutcome {
  stepId: string;
  attempt: number;
  pgid: number;
  /** `killed`: it was alive and is gone now; `gone`: it had ended already; `foreign`: the pid is another process now. */
  outcome: 'killed' | 'gone' | 'foreign';
}

function runDir(home: string, runId: string): string {
  return path.join(home, 'processes', safeName(runId));
}

function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9_.-]/g, '_');
}

/** Start time (clock ticks since boot) of a process, or null when it is gone or /proc is absent. */
export function processStartTicks(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) is parenthesised and may hold spaces: fields resume after ")"
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const v = Number(fields[19]);
    return Number.isFinite(v) ? v : null;
  } catch {
    return null;
  }
}

/** Records a spawned group (written atomically: a crash leaves the old record or the new one). */
export function recordProcessGroup(home: string, rec: ProcessGroupRecord): string {
  const dir = runDir(home, rec.runId);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${safeName(rec.stepId)}.json`);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(rec));
  renameSync(tmp, file);
  return file;
}

/** Removes a group's record (the group ended). */
export function forgetProcessGroup(file: string): void {
  rmSync(file, { force: true });
}

/** The recorded groups of a run (unreadable records are skipped and removed). */
export function recordedProcessGroups(home: string, runId: string): { file: string; rec: ProcessGroupRecord }[] {
  const dir = runDir(home, runId);
  let names: string[];
  try {
    names = readdirSync(dir).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  const out: { file: string; rec: ProcessGroupRecord }[] = [];
  for (const n of names) {
    const file = path.join(dir, n);
    try {
      const rec = JSON.parse(readFileSync(file, 'utf8')) as ProcessGroupRecord;
      if (Number.isInteger(rec.pgid) && rec.pgid > 1) out.push({ file, rec });
      else forgetProcessGroup(file);
    } catch {
      forgetProcessGroup(file);
    }
  }
  return out;
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function signalGroup(pgid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pgid, sig);
  } catch {
    /* already gone */
  }
}

async function waitGone(pgid: number, ms: number): Promise<boolean> {
  for (let waited = 0; waited < ms; waited += 50) {
    if (!groupAlive(pgid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !groupAlive(pgid);
}

/**
 * Stops every process group recorded for `runId` (optionally only `stepIds`) that is still
 * alive: SIGTERM, then SIGKILL after `graceMs`; removes the records. Never touches a pid that
 * now belongs to another process (start time differs from the record).
 */
export async function killStaleProcessGroups(home: string, runId: string, stepIds?: readonly string[], graceMs = 3000): Promise<StaleGroupOutcome[]> {
  const out: StaleGroupOutcome[] = [];
  for (const { file, rec } of recordedProcessGroups(home, runId)) {
    if (stepIds && !stepIds.includes(rec.stepId)) continue;
    const base = { stepId: rec.stepId, attempt: rec.attempt, pgid: rec.pgid };
    const leaderTicks = processStartTicks(rec.pgid);
    if (leaderTicks !== null && rec.startTicks !== null && leaderTicks !== rec.startTicks) {
      out.push({ ...base, outcome: 'foreign' });
    } else if (!groupAlive(rec.pgid)) {
      out.push({ ...base, outcome: 'gone' });
    } else {
      signalGroup(rec.pgid, 'SIGTERM');
      if (!(await waitGone(rec.pgid, graceMs))) {
        signalGroup(rec.pgid, 'SIGKILL');
        await waitGone(rec.pgid, graceMs);
      }
      out.push({ ...base, outcome: 'killed' });
    }
    forgetProcessGroup(file);
  }
  return out;
}
