/**
 * {@link Tracker.logRuns} through the single calls, for trackers with no cheaper way to write
 * several runs (MLflow's REST API has no multi-run request): per write, create (or take) the run,
 * log its batch, inputs and artifacts, then end it. Not atomic across calls: a failure part-way
 * leaves what was logged before it, as the single calls would.
 */
import type { RunWrite, Tracker } from './types.ts';

/** Runs `writes` in order on `tracker`'s single calls; returns each write's run id. Throws the first call's error. */
export async function logRunsByCalls(tracker: Tracker, writes: RunWrite[]): Promise<string[]> {
  const ids: string[] = [];
  for (const w of writes) {
    const id = 'runId' in w.run ? w.run.runId : (await tracker.createRun(w.run.create)).runId;
    if (w.metrics?.length || w.params?.length || w.tags?.length) await tracker.logBatch(id, { metrics: w.metrics, params: w.params, tags: w.tags });
    if (w.inputs?.length) await tracker.logInputs(id, w.inputs);
    for (const a of w.artifacts ?? []) await tracker.logArtifact(id, a.localPath, a.artifactPath);
    if (w.end) await tracker.updateRun(id, w.end);
    ids.push(id);
  }
  return ids;
}
