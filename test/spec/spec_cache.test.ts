/**
 * spec/cache.ts: a validated spec kept by its text's digest compiles every pipeline of
 * pipelines.yaml to the very plan a fresh validation does; an edited text, another build or a
 * corrupt entry is validated again; an invalid text is never kept and reports every problem.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_SPEC_ENTRIES, readCachedSpec, type SpecCacheLocation } from '../../spec/cache.ts';
import { compilePlan, validSpec } from '../../spec/compile.ts';
import { PROJECT_ROOT } from '../../lib/paths.ts';
import { tempDir } from '../support/context.ts';

const TEXT = readFileSync(path.join(PROJECT_ROOT, 'pipelines.yaml'), 'utf8');
const at = (build = '1'): SpecCacheLocation => ({ dir: path.join(tempDir('spec-cache-'), 'spec-cache'), build });

describe('the spec cache', () => {
  it('a kept spec compiles every pipeline to the same plan digest as a fresh validation', () => {
    const loc = at();
    const fresh = validSpec(TEXT, 'pipelines.yaml', undefined);
    expect(readCachedSpec(loc, TEXT)).toBeUndefined();
    validSpec(TEXT, 'pipelines.yaml', loc);
    const kept = readCachedSpec(loc, TEXT);
    expect(kept).toBeDefined();
    expect(kept).toEqual(fresh);
    expect(Object.keys(kept!.pipelines).length).toBeGreaterThan(3);
    for (const name of Object.keys(fresh.pipelines)) {
      expect(compilePlan(validSpec(TEXT, 'pipelines.yaml', loc), name).digest).toBe(compilePlan(fresh, name).digest);
    }
  });

  it('an edited text, another build or a corrupt entry is not read', () => {
    const loc = at('7');
    validSpec(TEXT, 'pipelines.yaml', loc);
    expect(readCachedSpec(loc, `${TEXT}\n# edited\n`)).toBeUndefined();
    expect(readCachedSpec({ ...loc, build: '8' }, TEXT)).toBeUndefined();
    const [entry] = readdirSync(loc.dir);
    writeFileSync(path.join(loc.dir, entry!), '{"spec": {"pipel');
    expect(readCachedSpec(loc, TEXT)).toBeUndefined();
    // validated again (and kept again) instead of failing
    expect(Object.keys(validSpec(TEXT, 'pipelines.yaml', loc).pipelines)).toEqual(Object.keys(validSpec(TEXT, 'pipelines.yaml', undefined).pipelines));
    expect(readCachedSpec(loc, TEXT)).toBeDefined();
  });

  it('an invalid text is never kept: each load reports its problems', () => {
    const loc = at();
    const bad = TEXT.replace('version: 1', 'version: 2');
    for (let i = 0; i < 2; i++) expect(() => validSpec(bad, 'pipelines.yaml', loc)).toThrow(/unsupported version 2/);
    expect(readCachedSpec(loc, bad)).toBeUndefined();
  });

  it('keeps at most MAX_SPEC_ENTRIES entries, removing the least recently written', () => {
    const loc = at();
    const texts = Array.from({ length: MAX_SPEC_ENTRIES + 3 }, (_, i) => `${TEXT}\n# edit ${i}\n`);
    for (const [i, t] of texts.entries()) {
      validSpec(t, 'pipelines.yaml', loc);
      // distinct mtimes, oldest first
      const [f] = readdirSync(loc.dir).filter((x) => x.includes(createHash('sha256').update(t).digest('hex')));
      utimesSync(path.join(loc.dir, f!), 1_000 + i, 1_000 + i);
    }
    validSpec(`${TEXT}\n# newest\n`, 'pipelines.yaml', loc);
    expect(readdirSync(loc.dir).filter((f) => f.endsWith('.json')).length).toBe(MAX_SPEC_ENTRIES);
    for (const t of texts.slice(0, 4)) expect(readCachedSpec(loc, t)).toBeUndefined();
    for (const t of texts.slice(4)) expect(readCachedSpec(loc, t)).toBeDefined();
    expect(readCachedSpec(loc, `${TEXT}\n# newest\n`)).toBeDefined();
  });

  it('a folder that cannot be written only means no entry is kept', () => {
    const file = path.join(tempDir('spec-cache-'), 'a-file');
    writeFileSync(file, '');
    const loc = { dir: path.join(file, 'spec-cache'), build: '1' };
    expect(Object.keys(validSpec(TEXT, 'pipelines.yaml', loc).pipelines).length).toBeGreaterThan(3);
    expect(readCachedSpec(loc, TEXT)).toBeUndefined();
  });
});
