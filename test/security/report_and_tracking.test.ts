import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ArtifactStore } from '../../artifacts/store.ts';
import { EmbeddedRuntime } from '../../embedded/runtime.ts';
import { logger as rootLogger } from '../../lib/log.ts';
import { writeReport } from '../../report/index.ts';
import { compilePlan, loadSpec } from '../../spec/compile.ts';
import { createTrackingObserver } from '../../tracking/trackingObserver.ts';
import { visitReport } from '../report/support/browser.ts';
import { HOSTILE_DATASET, HOSTILE_FAILED_STEP, HOSTILE_IDS, HOSTILE_SLEEVE, PAYLOADS, hostileReportInput } from '../report/support/hostile.ts';
import { tempDir } from '../support/context.ts';
import { nightlyRunFixture, type RunFixture } from '../tracking/support/fixtures.ts';
import { BlackHole, STEP_MS, capturingLogger, closedPort, writeSubsetSpec } from '../tracking/support/unreachable.ts';

const P = PAYLOADS;

// Issue 16, item 4: every value a user or a step can put into a report is shown as text, never run.
describe('report.html with hostile strings (issue 16 item 4)', () => {
  const dir = tempDir('trademl-sec-report-');
  const store = new ArtifactStore(path.join(dir, 'artifacts'));
  let fx: RunFixture;
  beforeAll(async () => {
    fx = await nightlyRunFixture(store, { approval: 'approved' });
  });

  it('runs no payload in headless Chromium, with or without the page CSP, and shows every string literally', async () => {
    const rep = await writeReport(hostileReportInput(fx), store, path.join(dir, 'report'));
    // The hostile values reached the report data (the sections were not dropped), so the page had to escape them.
    const d = rep.data;
    expect(d.signals.map((s) => s.sleeve)).toEqual([HOSTILE_SLEEVE]);
    expect(d.data[0]!.dataset).toBe(HOSTILE_DATASET);
    expect(d.approvals[0]).toMatchObject({ by: P.img });
    expect(rep.charts).toEqual(expect.arrayContaining(['dag', 'timings', `audit-${HOSTILE_IDS.audit}`, 'ic-path', `ope-${HOSTILE_IDS.ope}`]));

    for (const stripCsp of [false, true]) {
      const v = await visitReport(rep.files!.html, { stripCsp });
      const label = stripCsp ? 'without the CSP' : 'as written';
      expect(v.xss, `window.__xss ${label}`).toBeUndefined();
      expect(v.console.filter((l) => /XSS|pageerror/.test(l)), `console ${label}`).toEqual([]);
      expect(v.active, `active elements ${label}`).toEqual([]);
      expect(v.external, `requests ${label}`).toEqual([]);

      // Shown literally, character for character.
      expect(v.text.h1).toBe(`Nightly ${P.title} ${P.style}`);
      expect(v.text.run).toContain(P.script);
      expect(v.text.run).toContain(P.img);
      expect(v.text.run).toContain(P.jsUrl);
      expect(v.text.run).toContain(`key${P.attr}`);
      expect(v.text.dag).toContain(HOSTILE_IDS.audit);
      expect(v.text.dag).toContain(`exit 1: ${P.script} ${P.title}`);
      expect(v.text.dag).toContain(`<b>Boom</b>${P.img}`);
      expect(v.text.dag).toContain(HOSTILE_FAILED_STEP);
      expect(v.text.audit).toContain(HOSTILE_DATASET);
      expect(v.text.audit).toContain(`bad_print${P.iframe}`);
      expect(v.text.audit).toContain(`XYZ${P.link}`);
      expect(v.text.ic).toContain(HOSTILE_SLEEVE);
      expect(v.text.gate).toContain(`dsr${P.img}`);
      expect(v.text.gate).toContain(`accepted ${P.style}`);
      expect(v.text.promotion).toContain(P.img);
      expect(v.text.promotion).toContain(`${P.svg} ${P.style} ${P.jsUrl}`);
      expect(v.text.promotion).toContain(`equities${P.svg}`);
      expect(v.text.lineage).toContain(P.link);
      // Chart labels in the SVG: step ids in the DAG and timings, the sleeve in the IC legend.
      expect(v.text['chart:dag']).toContain(HOSTILE_IDS.ope);
      expect(v.text['chart:timings']).toContain(HOSTILE_IDS.audit.slice(0, 12));
      expect(v.text['chart:ic-path']).toContain(HOSTILE_SLEEVE.slice(0, 12));
    }
  });
});

interface TrackedRun {
  status: string;
  /** Run length in ticks (sleep steps of STEP_MS): the critical path is 3 of them. */
  ticks: number;
  /** Recorded duration of each sleep step, ms. */
  sleeps: number[];
  /** Lines the observer logged at warn level or above. */
  warnings: string[];
  /** Lines anything logged through the process logger that mention MLflow. */
  mlflowLines: string[];
  report: { lineage: { extra: Record<string, unknown> } };
  trackerJson: Record<string, unknown>;
}

/** One run of the `subset` pipeline with the tracking observer the CLI attaches, under the environment `env`. */
async function trackedRun(env: Record<string, string>): Promise<TrackedRun> {
  const home = tempDir('trademl-sec-track-');
  for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
  const { log, lines } = capturingLogger();
  const root = vi.spyOn(rootLogger, 'warn');
  try {
    const plan = compilePlan(loadSpec(writeSubsetSpec(home)), 'subset');
    const rt = new EmbeddedRuntime({ home, autoApprove: 'tester', observer: await createTrackingObserver(home, log) });
    const out = await rt.start(plan);
    const run = await rt.store.getRun(out.runId);
    rt.store.close();
    const dir = path.join(home, 'reports', out.runId);
    const report = JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8')) as TrackedRun['report'] & { run: { duration_ms: number }; steps: Array<{ stepId: string; durationMs: number }> };
    return {
      status: out.status,
      ticks: report.run.duration_ms / STEP_MS,
      sleeps: report.steps.filter((s) => ['first', 'left', 'right', 'last'].includes(s.stepId)).map((s) => s.durationMs),
      warnings: lines.filter((l) => l.level >= 40).map((l) => l.msg),
      mlflowLines: root.mock.calls.map((c) => JSON.stringify(c)).filter((c) => /mlflow/i.test(c)),
      report,
      trackerJson: JSON.parse(readFileSync(path.join(dir, 'tracker.json'), 'utf8')),
      ...(run.status !== out.status ? { status: `${out.status} (store: ${run.status})` } : {}),
    };
  } finally {
    root.mockRestore();
    vi.unstubAllEnvs();
  }
}

// Issue 16, item 6: an unreachable MLflow neither stalls the run loop nor floods the log.
describe('tracking with MLflow unreachable (issue 16 item 6)', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('runs as fast as with local tracking, with a single warning line, against a closed port and a server that never answers', async () => {
    const base = await trackedRun({ TRADEML_TRACKER: 'local' });
    expect(base.status).toBe('succeeded');
    expect(base.warnings).toEqual([]);

    const port = await closedPort();
    const refused = await trackedRun({ MLFLOW_TRACKING_URI: `http://127.0.0.1:${port}` });
    const hole = new BlackHole();
    let hung: TrackedRun;
    try {
      await hole.start();
      hung = await trackedRun({ MLFLOW_TRACKING_URI: hole.url, TRADEML_TRACKING_TIMEOUT_MS: '400' });
    } finally {
      await hole.stop();
    }
    // One connection: the first attempt timed out after 400 ms, and nothing was sent after it.
    expect(hole.connections).toBe(1);

    for (const [what, r, reason] of [['closed port', refused, /ECONNREFUSED/], ['black hole', hung, /ETIMEDOUT|[Tt]imeout/]] as const) {
      expect(r.status, what).toBe('succeeded');
      // About the same number of ticks as with local tracking (the 400 ms timeout is < 1 tick), and sleep steps last one tick.
      expect(r.ticks, `${what}: run length in ticks vs ${base.ticks.toFixed(2)} with local tracking`).toBeLessThan(base.ticks + 2);
      for (const ms of r.sleeps) expect(ms, `${what}: recorded sleep step duration vs at most ${Math.max(...base.sleeps)} ms with local tracking`).toBeLessThan(Math.max(...base.sleeps) + STEP_MS);
      // One clear line saying tracking is off and why; no retry lines from the MLflow client.
      expect(r.warnings, what).toHaveLength(1);
      expect(r.warnings[0], what).toMatch(/^tracking is off: MLflow GET version failed: /);
      expect(r.warnings[0], what).toMatch(reason);
      expect(r.mlflowLines, what).toEqual([]);
      // The report is still written, and says tracking was off.
      expect(r.report.lineage.extra.tracking_off, what).toMatch(reason);
      expect(r.trackerJson).toMatchObject({ tracker: 'mlflow', run_id: null });
    }
  });
});
