/**
 * Atomic file writes for reports: the bytes go to a temp file beside the target, are flushed to
 * disk, and the temp file is renamed over the target. A reader (or a process resuming after a
 * kill -9) sees the old file or the new one, never half of one.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Temp name of a write to `base` by process `pid`: hidden, in the same folder (same file system, so rename is atomic). */
function tempName(base: string, pid: number): string {
  return `.${base}.${pid}.${randomBytes(4).toString('hex')}.tmp`;
}

const TEMP_RE = (base: string) => new RegExp(`^\\.${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(\\d+)\\.[0-9a-f]{8}\\.tmp$`);

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes temp files of `base` in `dir` left by processes that died mid-write (never another live writer's). */
function removeStaleTemps(dir: string, base: string): void {
  const re = TEMP_RE(base);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    const m = re.exec(n);
    if (m && !alive(Number(m[1]))) rmSync(path.join(dir, n), { force: true });
  }
}

/** Writes `data` to a new temp file `tmp` and flushes it to disk. */
function writeTemp(tmp: string, data: string | Uint8Array): void {
  const fd = openSync(tmp, 'wx', 0o644);
  try {
    writeFileSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes several files atomically, each one replaced by rename only after every temp file is
 * complete on disk (so a kill during the writes leaves all targets as they were). Creates the
 * folders. On an error the temp files are removed and the targets are untouched. Temp files that a
 * killed process left behind for the same targets are cleaned up on the next write.
 */
export function writeFilesAtomic(files: ReadonlyArray<{ file: string; data: string | Uint8Array }>): void {
  const staged: Array<{ tmp: string; file: string; renamed?: boolean }> = [];
  try {
    for (const { file, data } of files) {
      const dir = path.dirname(file);
      mkdirSync(dir, { recursive: true });
      const tmp = path.join(dir, tempName(path.basename(file), process.pid));
      staged.push({ tmp, file });
      writeTemp(tmp, data);
    }
    for (const s of staged) {
      renameSync(s.tmp, s.file);
      s.renamed = true;
    }
  } catch (e) {
    for (const s of staged) if (!s.renamed) rmSync(s.tmp, { force: true });
    throw e;
  }
  for (const { file } of files) removeStaleTemps(path.dirname(file), path.basename(file));
}

/** Writes one file atomically (see {@link writeFilesAtomic}). */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  writeFilesAtomic([{ file, data }]);
}
