/**
 * Issue 16, item 12: two `--no-cache` nightlies on sp500_subset give identical bytes for every
 * artifact that holds no timestamp. The nightly DAG of pipelines.yaml runs as is from ingest to
 * the gate, with lighter settings through the steps' `with:` (fewer CPCV groups, boosting rounds,
 * trials and RL steps) so the pair stays near two minutes; approval, promotion and the report
 * (registry writes and run timestamps) are left out. Each run gets its own state home: the trial
 * ledger is persistent by design, so a second fit in the same home legitimately sees more trials.
 * On the old main `stack.oof` aggregated floats in parallel and its OOF bytes moved run to run.
 */
import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { ArtifactStore } from '../../artifacts/store.ts';
import { EmbeddedRuntime } from '../../embedded/runtime.ts';
import { hasSharedData, PROJECT_ROOT } from '../../lib/paths.ts';
import { compilePlan, loadSpec } from '../../spec/compile.ts';
import type { Spec } from '../../spec/schema.ts';
import { tempDir } from '../support/context.ts';
import { TIMESTAMPED, without } from '../support/timestamped.ts';


/** The nightly pipeline with lighter settings and without its steps after the gate. */
function lightNightly(): Spec {
  const spec = structuredClone(loadSpec(path.join(PROJECT_ROOT, 'pipelines.yaml')));
  const steps = spec.pipelines.nightly!.steps;
  for (const id of ['approve', 'promote', 'report']) delete steps[id];
  const lighter = { n_groups: 6, n_test_groups: 2, num_boost_round: 30 };
  steps.fit!.with = { ...steps.fit!.with, ...lighter, grid: { max_depth: [3, 4] } };
  steps.fit_tb!.with = { ...steps.fit_tb!.with, ...lighter, grid: { max_depth: [3, 4] } };
  steps.rl_train!.with = { ...steps.rl_train!.with, steps: 300 };
  return spec;
}

/** Every artifact reference in a value, nested ones included, by its path (dotted). */
function artifactRefs(value: unknown, at: string, out: Record<string, { uri: string; digest: string }>): Record<string, { uri: string; digest: string }> {
  if (Array.isArray(value)) value.forEach((v, i) => artifactRefs(v, `${at}.${i}`, out));
  else if (value && typeof value === 'object') {
    const v = value as Record<string, unknown>;
    if (typeof v.uri === 'string' && v.uri.startsWith('artifact://') && typeof v.digest === 'string') out[at] = { uri: v.uri, digest: v.digest };
    // a reference may carry references of its own (the ingest table's manifest): those count too
    for (const [k, x] of Object.entries(v)) artifactRefs(x, `${at}.${k}`, out);
  }
  return out;
}

describe.skipIf(!hasSharedData())('determinism (issue 16, item 12)', () => {
  it('two --no-cache nightlies on sp500_subset produce the same artifact bytes', async () => {
    const plan = compilePlan(lightNightly(), 'nightly', { params: { dataset: 'sp500_subset' }, noCache: true });
    const runs: { refs: Record<string, { uri: string; digest: string }>; store: ArtifactStore }[] = [];
    for (let i = 0; i < 2; i++) {
      const home = tempDir('trademl-det-');
      const out = await new EmbeddedRuntime({ home, noCache: true }).start(plan);
      for (const id of ['ingest', 'audit', 'features', 'labels', 'barriers', 'fit', 'fit_tb', 'stack', 'portfolio', 'backtest', 'rl_data', 'rl_train', 'ope']) {
        expect(out.state.steps[id]!.status, `${id}: ${out.state.steps[id]!.error?.message}`).toBe('succeeded');
        expect(out.state.steps[id]!.cacheHit).toBe(false);
      }
      const refs: Record<string, { uri: string; digest: string }> = {};
      for (const [id, s] of Object.entries(out.state.steps)) if (s.outputs) artifactRefs(s.outputs, id, refs);
      runs.push({ refs, store: new ArtifactStore(path.join(home, 'artifacts')) });
    }
    const [a, b] = runs as [(typeof runs)[0], (typeof runs)[0]];
    expect(Object.keys(b.refs).sort()).toEqual(Object.keys(a.refs).sort());
    expect(Object.keys(a.refs).length).toBeGreaterThan(10);
    const differ = Object.keys(a.refs).filter((k) => a.refs[k]!.digest !== b.refs[k]!.digest && !(k in TIMESTAMPED));
    expect(differ, `artifacts whose bytes differ between two --no-cache runs:\n${differ.join('\n')}`).toEqual([]);
    for (const [k, fields] of Object.entries(TIMESTAMPED)) {
      expect(a.refs, `exempt artifact ${k} no longer exists`).toHaveProperty([k]);
      const read = (r: (typeof runs)[0]) => without(JSON.parse(r.store.readText(r.refs[k]!.uri)), fields);
      expect(read(b), `${k} differs beyond its timestamps (${fields.join(', ')})`).toEqual(read(a));
    }
    // the stack's OOF signals, the headline of item 12, are among the identical ones
    expect(Object.keys(a.refs).filter((k) => k.startsWith('stack.')).length).toBeGreaterThan(0);
  }, 900_000);
});
