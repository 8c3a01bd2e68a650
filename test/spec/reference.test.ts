import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/paths.ts';
import { STEP_KINDS } from '../../kinds/registry.ts';
import { renderReference } from '../../spec/reference.ts';

describe('docs/pipelines-reference.md', () => {
  it('is the current output of `trademl schema` (regenerate: npx trademl schema > docs/pipelines-reference.md)', () => {
    const doc = readFileSync(path.join(PROJECT_ROOT, 'docs', 'pipelines-reference.md'), 'utf8');
    expect(doc).toBe(renderReference());
    for (const uses of STEP_KINDS.keys()) expect(doc).toContain(`### \`${uses}\``);
  });
});
