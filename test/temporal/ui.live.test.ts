/**
 * The Temporal Web UI of the dev server in headless Chromium (playwright-core driving Debian's
 * /usr/bin/chromium): a run waiting for approval is listed, the list filters by the TradeML search
 * attribute TrademlPipeline (a run of another pipeline is not shown), and the run's page shows
 * its current details — what it waits for, the gate's figures, how to approve — and the step
 * kinds of its activities. Screenshot: TRADEML_UI_SCREENSHOT (docs/temporal-ui.png was made with
 * `TRADEML_UI_SCREENSHOT=docs/temporal-ui.png`), else a temp file.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compilePlan } from '../../spec/compile.ts';
import { validateSpecText } from '../../spec/validate.ts';
import { startPipelineRun } from '../../temporal/runs.ts';
import { HAS_SERVERS, eventually, skipLine, startLive, waitStatus, type LiveEnv } from './support/live.ts';

skipLine('test/temporal/ui.live.test.ts');

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Headless flags for this machine's closed network (no background connections), as root in a container. */
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

const SPEC = `
version: 1
pipelines:
  ui_nightly:
    params: { dataset: sp500_subset }
    steps:
      ingest: { uses: noop, with: { outputs: { rows: 75236 } } }
      fit: { uses: noop, needs: [ingest], queue: gpu, with: { outputs: { oof_ic: 0.031 } } }
      gate: { uses: noop, needs: [fit], with: { outputs: { passed: true, sharpe: 1.21, dsr: 0.97, pbo: 0.04 } } }
      approve: { uses: approval, needs: [gate], with: { timeout: 72h } }
      promote: { uses: noop, needs: [approve] }
  ui_other:
    steps: { a: { uses: noop } }
`;

describe.skipIf(!HAS_SERVERS || !existsSync(CHROMIUM))('Temporal Web UI (headless Chromium)', () => {
  let env: LiveEnv;
  beforeAll(async () => {
    env = await startLive('ui');
  }, 120_000);
  afterAll(async () => env?.close(), 60_000);

  it('lists the run, filters by pipeline, shows the pending approval and how to act', async () => {
    const spec = validateSpecText(SPEC, 'ui.yaml').spec!;
    const id = `ui-nightly-${Date.now().toString(36)}`;
    const h = await startPipelineRun(env.client, compilePlan(spec, 'ui_nightly'), env.settings, { workflowId: id, observe: false });
    const other = await startPipelineRun(env.client, compilePlan(spec, 'ui_other'), env.settings, { workflowId: `ui-other-${Date.now().toString(36)}`, observe: false });
    await other.result();
    await waitStatus(h, (s) => s.status === 'waiting_approval');
    await eventually(async () => (await env.client.workflow.count(`WorkflowId = '${id}' AND TrademlRunState = 'waiting_approval'`)).count === 1, 30_000, 'listed as waiting');

    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      const ui = process.env.TRADEML_TEMPORAL_UI ?? 'http://127.0.0.1:18233';
      const ns = encodeURIComponent(env.settings.namespace);
      const query = encodeURIComponent(`TrademlPipeline="ui_nightly" AND TaskQueue="${env.settings.taskQueuePrefix}-cpu"`);
      await page.goto(`${ui}/namespaces/${ns}/workflows?query=${query}`, { waitUntil: 'load' });
      await page.getByText(id).first().waitFor({ timeout: 30_000 });
      expect(await page.getByText(other.workflowId).count()).toBe(0);

      await page.goto(`${ui}/namespaces/${ns}/workflows/${encodeURIComponent(id)}`, { waitUntil: 'load' });
      const timeline = await page.innerText('body');
      await page.getByText('User Metadata', { exact: true }).first().click();
      // the UI renders the Markdown of the current details in a sandboxed frame: read every frame
      const body = await eventually(async () => {
        const texts = await Promise.all(page.frames().map((f) => f.evaluate("document.body ? document.body.innerText : ''").catch(() => '')));
        const all = texts.join('\n');
        return all.includes('Waiting for approval') && all;
      }, 30_000, 'current details shown');
      expect(body).toContain(`trademl temporal approve ${id} --step approve --by NAME`);
      expect(body).toContain('sharpe=1.21');
      expect(timeline + body).toMatch(/fit \(noop\)|gate \(noop\)/); // activity summaries: step (kind)
      const shot = path.resolve(ROOT, process.env.TRADEML_UI_SCREENSHOT ?? path.join(os.tmpdir(), `trademl-temporal-ui-${process.pid}.png`));
      mkdirSync(path.dirname(shot), { recursive: true });
      await page.screenshot({ path: shot, fullPage: false });
      expect(statSync(shot).size).toBeGreaterThan(10_000);
    } finally {
      await browser.close();
    }
  });
});
