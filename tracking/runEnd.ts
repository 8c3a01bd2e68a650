/** What a run's end writes to the tracker and beside its report. */
import path from 'node:path';
import { writeFileAtomic } from '../report/atomic.ts';
import type { WrittenReport } from '../report/index.ts';
import type { RunRecord } from './observer.ts';
import type { RunWrite } from './types.ts';

/**
 * The parent tracker run's end: the report files as its artifacts (`report/`), and the run ended
 * FINISHED / FAILED / KILLED at `run.endedAt` (a run still waiting or running gets only its
 * `trademl.status` tag).
 */
export function runEndWrite(run: RunRecord, trackerRun: string, rep: WrittenReport | undefined): RunWrite {
  const status = run.status === 'succeeded' ? 'FINISHED' : run.status === 'cancelled' ? 'KILLED' : run.status === 'failed' ? 'FAILED' : 'RUNNING';
  return {
    run: { runId: trackerRun },
    artifacts: rep ? [{ localPath: rep.files!.json, artifactPath: 'report/report.json' }, { localPath: rep.files!.html, artifactPath: 'report/report.html' }] : [],
    ...(status !== 'RUNNING' ? { end: { status, endTime: run.endedAt ? Date.parse(run.endedAt) : Date.now() } } : { tags: [{ key: 'trademl.status', value: run.status }] }),
  };
}

/** Writes `tracker.json` beside the report: the tracker and the run the report is on (`run_id: null` and `tracking_off: <why>` when none). */
export function writeTrackerJson(rep: WrittenReport, tracker: { kind: string; location: string }, runId: string | undefined, offReason: string): void {
  const info = { tracker: tracker.kind, location: tracker.location, run_id: runId ?? null, ...(runId ? {} : { tracking_off: offReason || 'no tracker run' }), report_json: rep.refs.json, report_html: rep.refs.html };
  writeFileAtomic(path.join(path.dirname(rep.files!.json), 'tracker.json'), JSON.stringify(info, null, 2));
}
