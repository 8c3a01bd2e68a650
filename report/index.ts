import path from 'node:path';
import type { ArtifactRef, ArtifactStore } from '../artifacts/store.ts';
import { canonicalJson } from '../lib/canonical.ts';
import { stateHome } from '../lib/paths.ts';
import { writeFilesAtomic } from './atomic.ts';
import { buildCharts } from './charts.ts';
import { renderHtml } from './html.ts';
import { buildReportData, type ReportData, type ReportInput } from './model.ts';

export type { ReportData, ReportInput, ReportStep } from './model.ts';

/**
 * Whether `runId` names a folder of its own under reports/: letters, digits, `_`, `.`, `-` and `:`
 * (a Temporal Schedule appends its action time, e.g. `…-2026-12-06T01:00:00Z`), and not only dots.
 */
export function isReportableRunId(runId: string): boolean {
  return /^[\w.:\-]+$/.test(runId) && !/^\.+$/.test(runId);
}

/** Folder where a run's latest report is written: `stateHome()/reports/<run-id>/`. Throws an Error for a run id that {@link isReportableRunId} refuses. */
export function reportDir(runId: string, home = stateHome()): string {
  if (!isReportableRunId(runId)) throw new Error(`bad run id "${runId}": a report folder name needs letters, digits, '_', '.', '-' or ':'`);
  return path.join(home, 'reports', runId);
}

export interface WrittenReport {
  data: ReportData;
  html: string;
  /** report.json and report.html in the artifact store. */
  refs: { json: ArtifactRef; html: ArtifactRef };
  /** Local copies (when `dir` was given). */
  files?: { json: string; html: string };
  charts: string[];
}

/**
 * Writes report.json (pretty-printed `data`) and report.html into `dir`, atomically: each file is
 * the old one or the new one, never half-written, even when the process is killed mid-write.
 */
export function writeReportFiles(dir: string, data: ReportData, html: string): { json: string; html: string } {
  const files = { json: path.join(dir, 'report.json'), html: path.join(dir, 'report.html') };
  writeFilesAtomic([{ file: files.json, data: JSON.stringify(data, null, 2) }, { file: files.html, data: html }]);
  return files;
}

/**
 * Builds report.json + a self-contained report.html for a run, stores both in the artifact store,
 * and (when `dir` is given) writes copies there atomically. Charts are static SVG rendered with Vega-Lite.
 */
export async function writeReport(input: ReportInput, store: ArtifactStore, dir?: string): Promise<WrittenReport> {
  const { data, series } = await buildReportData(input, store);
  const charts = await buildCharts(data, series, store);
  const html = renderHtml(data, charts);
  const json = canonicalJson(data);
  const refs = { json: await store.putBytes(json, 'report.json', 'application/json'), html: await store.putBytes(html, 'report.html', 'text/html') };
  const files = dir ? writeReportFiles(dir, data, html) : undefined;
  return { data, html, refs, files, charts: charts.map((c) => c.id) };
}
