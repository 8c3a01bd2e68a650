/**
 * Child process of test/report/atomic.test.ts: writes a run report with `writeReport` from the
 * module given as argv[2] into argv[3] (artifact store at argv[4]), and kills itself with SIGKILL
 * in the middle of writing report.html — half of the page is on disk when the process dies, as
 * with a kill -9 or an OOM kill during the write. Only writes under the report folder are cut.
 *
 *   node --import tsx killDuringReport.ts <report module> <report dir> <store dir> <title>
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [modulePath, reportDir, storeDir, title] = process.argv.slice(2) as [string, string, string, string];
const fdPaths = new Map<number, string>();
const open = fs.openSync;
const write = fs.writeFileSync;
fs.openSync = ((p: fs.PathLike, ...rest: unknown[]) => {
  const fd = (open as (...a: unknown[]) => number)(p, ...rest);
  fdPaths.set(fd, String(p));
  return fd;
}) as typeof fs.openSync;
fs.writeFileSync = ((target: fs.PathOrFileDescriptor, data: string | NodeJS.ArrayBufferView, options?: fs.WriteFileOptions) => {
  const file = typeof target === 'number' ? fdPaths.get(target) : String(target);
  if (file && path.resolve(file).startsWith(path.resolve(reportDir) + path.sep) && typeof data === 'string' && data.startsWith('<!doctype html>')) {
    write(target, data.slice(0, Math.floor(data.length / 2)), options);
    process.kill(process.pid, 'SIGKILL');
  }
  return write(target, data, options);
}) as typeof fs.writeFileSync;
syncBuiltinESMExports();

const { ArtifactStore } = await import('../../../artifacts/store.ts');
const { writeReport } = (await import(pathToFileURL(path.resolve(modulePath)).href)) as typeof import('../../../report/index.ts');
await writeReport(
  { runId: 'r-atomic', pipeline: 'smoke', title, status: 'succeeded', steps: [{ stepId: 'a', uses: 'noop', status: 'succeeded', outputs: {} }] },
  new ArtifactStore(storeDir),
  reportDir,
);
process.stdout.write('written without being killed\n');
