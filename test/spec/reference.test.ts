import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { renderContracts } from '../../contracts/docs.ts';
import { CONTRACTS } from '../../contracts/index.ts';
import { PROJECT_ROOT } from '../../lib/paths.ts';
import { STEP_KINDS } from '../../kinds/registry.ts';
import { renderReference } from '../../spec/reference.ts';

/** Every object property of a schema (recursively) whose description is missing, as dotted paths. */
function undescribed(schema: z.ZodType, where: string): string[] {
  let js: Record<string, unknown>;
  try {
    js = z.toJSONSchema(schema, { unrepresentable: 'any', io: 'input' }) as Record<string, unknown>;
  } catch {
    return [`${where}: not representable`];
  }
  const out: string[] = [];
  const props = (js.properties ?? {}) as Record<string, Record<string, unknown>>;
  for (const [k, p] of Object.entries(props)) if (!String(p.description ?? '').trim()) out.push(`${where}.${k}`);
  return out;
}

describe('generated references', () => {
  it('docs/pipelines-reference.md is the current output of `trademl schema` (regenerate: npx trademl schema > docs/pipelines-reference.md)', () => {
    const doc = readFileSync(path.join(PROJECT_ROOT, 'docs', 'pipelines-reference.md'), 'utf8');
    expect(doc).toBe(renderReference());
    for (const uses of STEP_KINDS.keys()) expect(doc).toContain(`### \`${uses}\``);
  });

  it('docs/contracts.md is the current output of `trademl schema --contracts`', () => {
    const doc = readFileSync(path.join(PROJECT_ROOT, 'docs', 'contracts.md'), 'utf8');
    expect(doc).toBe(renderContracts());
    for (const c of CONTRACTS) expect(doc).toContain(`## \`${c.name}@${c.version}\``);
  });

  it('every with/outputs field of every kind and every contract field has a description', () => {
    const missing = [
      ...[...STEP_KINDS.values()].flatMap((k) => [...undescribed(k.with, `${k.uses}.with`), ...undescribed(k.outputs, `${k.uses}.outputs`)]),
      ...CONTRACTS.flatMap((c) => undescribed(c.schema, c.name)),
    ];
    expect(missing).toEqual([]);
  });
});
