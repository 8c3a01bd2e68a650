import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ArtifactStore } from '../../artifacts/store.ts';
import { PROJECT_ROOT } from '../../lib/paths.ts';
import { writeReport, type ReportInput } from '../../report/index.ts';
import { tempDir } from '../support/context.ts';

const input = (title: string): ReportInput => ({ runId: 'r-atomic', pipeline: 'smoke', title, status: 'succeeded', steps: [{ stepId: 'a', uses: 'noop', status: 'succeeded', outputs: {} }] });

describe('report files are written atomically', () => {
  it('a process killed (SIGKILL) while writing report.html leaves the previous report.json and report.html whole', async () => {
    const home = tempDir('trademl-report-atomic-');
    const dir = path.join(home, 'reports', 'r-atomic');
    const store = new ArtifactStore(path.join(home, 'artifacts'));
    const first = await writeReport(input('first report'), store, dir);
    const before = { html: readFileSync(first.files!.html, 'utf8'), json: readFileSync(first.files!.json, 'utf8') };

    const child = spawnSync(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'test/report/support/killDuringReport.ts'), path.join(PROJECT_ROOT, 'report/index.ts'), dir, path.join(home, 'child-artifacts'), 'second report'], { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 120_000 });
    expect(child.signal, `child stdout: ${child.stdout}\nstderr: ${child.stderr}`).toBe('SIGKILL');

    // The kill hit the middle of the page: the files on disk are still the first report, whole.
    expect(readFileSync(first.files!.html, 'utf8')).toBe(before.html);
    expect(readFileSync(first.files!.json, 'utf8')).toBe(before.json);
    expect(before.html.trimEnd().endsWith('</html>')).toBe(true);
    expect(JSON.parse(before.json).run.title).toBe('first report');
    const leftovers = readdirSync(dir).filter((n) => n.endsWith('.tmp'));
    expect(leftovers.length).toBeGreaterThan(0);

    // The next write replaces both files and removes what the killed writer left behind.
    const third = await writeReport(input('third report'), store, dir);
    expect(readdirSync(dir).sort()).toEqual(['report.html', 'report.json']);
    expect(JSON.parse(readFileSync(third.files!.json, 'utf8')).run.title).toBe('third report');
    expect(readFileSync(third.files!.html, 'utf8')).toBe(third.html);
  });
});
