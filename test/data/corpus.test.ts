import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDatasetContract } from '../../data/contract.ts';
import type { OhlcvIngestResult } from '../../data/ingest/ohlcv.ts';
import { ingestOhlcv } from '../../data/ingest/ohlcv.ts';
import { auditIngested } from '../../data/pipeline.ts';
import type { AuditResult } from '../../data/audit.ts';
import { PROJECT_ROOT } from '../../lib/paths.ts';
import { newStore, projectWith, q, spContract, tempDir } from './helpers.ts';

/**
 * The corpus of bad data files (test/fixtures/data/bad/, each with its expected outcome in
 * cases.json) ingested together with two good files: every case must end as expected — its file
 * quarantined whole with the right code and a reason naming it, or its row quarantined by the
 * right rule at the right line — with 0 crashes, 0 hangs and 0 silent acceptances, while the good
 * files ingest in full and the audit runs.
 */

interface Case { file: string; symbol: string; what: string; expect: { file?: string; reason?: string; rule?: string; line?: number; lost?: boolean } }

const FIXTURES = path.join(PROJECT_ROOT, 'test', 'fixtures', 'data', 'bad');
const { cases } = JSON.parse(readFileSync(path.join(FIXTURES, 'cases.json'), 'utf8')) as { cases: Case[] };
const AAPL = readFileSync(path.join(FIXTURES, '..', 'good', 'AAPL_30.csv'), 'utf8').trimEnd().split('\n');

describe('bad data corpus', () => {
  const root = tempDir('trademl-corpus-');
  const dir = path.join(root, 'bad');
  const project = projectWith([spContract('corpus', 'bad/{symbol}_data.csv', { source: { files: 'bad/{symbol}_data.csv', max_failed_file_share: 1 } })]);
  const store = newStore();
  let r: OhlcvIngestResult;
  let audit: AuditResult;
  let quarantine: { rule: string; source_file: string; line: bigint | null; detail: string | null }[];

  beforeAll(async () => {
    mkdirSync(dir);
    for (const f of readdirSync(FIXTURES)) if (f !== 'cases.json') cpSync(path.join(FIXTURES, f), path.join(dir, f));
    for (const g of ['GA', 'GB']) writeFileSync(path.join(dir, `${g}_data.csv`), [AAPL[0], ...AAPL.slice(1).map((l) => l.replace(/,AAPL$/, `,${g}`))].join('\n') + '\n');
    const made = (what: string) => cases.find((c) => c.what === what)!.file;
    execFileSync('mkfifo', [path.join(dir, made('a FIFO named like a data file'))]);
    const outside = path.join(tempDir('trademl-outside-'), 'secret.csv');
    writeFileSync(outside, `${AAPL[0]}\nTOP-SECRET,1,1,1,1,1,X\n`);
    symlinkSync(outside, path.join(dir, made('a symbolic link to a file outside the data root')));
    mkdirSync(path.join(dir, made('a folder named like a data file')));
    symlinkSync(path.join(dir, 'no-such-file.csv'), path.join(dir, made('a dangling symbolic link')));
    r = await ingestOhlcv(loadDatasetContract(project, 'corpus'), { store, dataRoot: root, now: new Date('2026-12-01T00:00:00Z') });
    audit = await auditIngested(project, r, { store });
    quarantine = await q(store, r.quarantine, 'SELECT rule, source_file, line, detail FROM $T');
  });

  it('holds at least 40 cases, each with its expected outcome', () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
    for (const c of cases) expect(c.expect.file ?? c.expect.rule, c.what).toBeTruthy();
  });

  it('ingests the good files in full and audits the result', () => {
    expect(r.rows_in).toBeGreaterThan(0);
    const good = quarantine.filter((x) => /\/G[AB]_data\.csv$/.test(x.source_file));
    expect(good).toEqual([]);
    expect(audit.symbols).toBeGreaterThanOrEqual(2);
    expect(audit.lost_symbols).toEqual(r.lost_symbols);
  });

  it.each(cases.map((c) => [c.what, c] as const))('%s', (_what, c) => {
    const rel = `bad/${c.file}`;
    const whole = r.quarantined_files.find((f) => f.path === rel);
    if (c.expect.file) {
      expect(whole, 'quarantined whole').toBeDefined();
      expect(c.expect.file.split('|')).toContain(whole!.code);
      expect(whole!.reason).toContain(rel);
      if (c.expect.reason) expect(whole!.reason).toContain(c.expect.reason);
      expect(whole!.reason).not.toContain('TOP-SECRET');
      expect(r.lost_symbols).toContain(c.symbol);
      expect(whole!.reason).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    } else {
      expect(whole, 'not quarantined whole').toBeUndefined();
      const rows = quarantine.filter((x) => x.source_file === rel && x.rule === c.expect.rule);
      expect(rows.length, `rows quarantined as ${c.expect.rule}`).toBeGreaterThan(0);
      if (c.expect.line) expect(rows.map((x) => Number(x.line))).toContain(c.expect.line);
      if (c.expect.lost) expect(r.lost_symbols).toContain(c.symbol);
      else expect(r.lost_symbols).not.toContain(c.symbol);
    }
  });

  it('says nothing it was not asked to: no file content beyond short escaped excerpts', () => {
    const all = JSON.stringify(r) + JSON.stringify(store.readJson(r.manifest)) + JSON.stringify(quarantine, (_k, v) => (typeof v === "bigint" ? Number(v) : v));
    expect(all).not.toContain('TOP-SECRET');
    expect(all).not.toContain('\u001b');
  });
});
