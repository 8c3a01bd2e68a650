import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ArtifactStore } from '../../artifacts/store.ts';
import { writeReport } from '../../report/index.ts';
import { visitReport } from '../report/support/browser.ts';
import { HOSTILE_DATASET, HOSTILE_FAILED_STEP, HOSTILE_IDS, HOSTILE_SLEEVE, PAYLOADS, hostileReportInput } from '../report/support/hostile.ts';
import { tempDir } from '../support/context.ts';
import { nightlyRunFixture, type RunFixture } from '../tracking/support/fixtures.ts';

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
