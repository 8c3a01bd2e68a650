/**
 * Speed work must not change outputs (issue 18): the nightly's stages on sp500_subset — ingest,
 * audit, features, both labels, both fit sleeves (one trial, 20 rounds: the fit code is not what
 * this guards), the OOF stack, portfolio, backtest and gate — run through the embedded runtime, and
 * every step's outputs (artifact digests, scalars, the gate's verdict) are compared, bit for bit,
 * with test/perf/digests.sp500_subset.json, recorded before the speed work (re-recorded since for
 * added fields only: audit survivorship, trials context digest; every number equal; and once for the
 * stack's z-scores, summed in row order in JS instead of by DuckDB's window in the order rows arrived:
 * the stacked OOF's last bits and the stack's mean IC (0.026563827321329298 → …31) changed, every
 * weight, backtest and gate figure stayed equal, the gate report differs in the stacked OOF's digest).
 * Artifacts holding run timestamps are compared without them, and a step's own wall time (rl.train's
 * `train_seconds`) not at all. The RL chain (rl.dataset → rl.train → rl.ope) was added to the
 * reference in the seventeenth session, recorded from outputs checked equal to the earlier code's.
 * `TRADEML_RECORD_DIGESTS=1` rewrites the reference (only for an intended change of outputs).
 * A cached re-run of the same plan must return the very same outputs with every step a cache hit.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ArtifactStore } from '../../artifacts/store.ts';
import { EmbeddedRuntime } from '../../embedded/runtime.ts';
import { canonicalJson } from '../../lib/canonical.ts';
import { hasSharedData, PROJECT_ROOT } from '../../lib/paths.ts';
import { compilePlan } from '../../spec/compile.ts';
import { specSchema } from '../../spec/schema.ts';
import { TIMESTAMPED, TIMING_OUTPUTS, without } from '../support/timestamped.ts';

const REF = path.join(PROJECT_ROOT, 'test/perf/digests.sp500_subset.json');
const small = { grid: {}, num_boost_round: 20 };
const steps = {
  ingest: { uses: 'ingest.ohlcv', with: { dataset: 'sp500_subset' } },
  audit: { uses: 'qc.audit', needs: ['ingest'] },
  features: { uses: 'features.equities', needs: ['audit'] },
  labels: { uses: 'labels.horizon', needs: ['audit'], with: { horizon: 5 } },
  barriers: { uses: 'labels.triple_barrier', needs: ['audit'], with: { vol_window: 20, tp_sigma: 2, sl_sigma: 1, max_h: 10 } },
  fit: { uses: 'fit.cpcv', needs: ['features', 'labels'], with: { sleeve: 'xs_horizon', config: 'configs/training/equities_xs.yml', ...small } },
  fit_tb: { uses: 'fit.cpcv', needs: ['features', 'barriers'], with: { sleeve: 'tb_classifier', config: 'configs/training/equities_tb.yml', ...small } },
  stack: { uses: 'stack.oof', needs: ['fit', 'fit_tb'] },
  portfolio: { uses: 'portfolio.build', needs: ['stack'] },
  backtest: { uses: 'backtest.cpcv_paths', needs: ['portfolio'] },
  gate: { uses: 'gate.governance', needs: ['backtest'], with: { bars: 'configs/promotion.yml' } },
  // the RL chain beside the gate (the gate does not bind its sizing): dataset, books, policy, OPE
  rl_data: { uses: 'rl.dataset', needs: ['backtest'] },
  rl_train: { uses: 'rl.train', needs: ['rl_data'] },
  ope: { uses: 'rl.ope', needs: ['rl_train'] },
};


/** `value` with each timestamped artifact reference replaced by the digest of its content without timestamps. */
function untimed(value: unknown, at: string, store: ArtifactStore): unknown {
  if (TIMING_OUTPUTS.includes(at)) return '<wall time>';
  if (Array.isArray(value)) return value.map((v, i) => untimed(v, `${at}.${i}`, store));
  if (!value || typeof value !== 'object') return value;
  const v = value as Record<string, unknown>;
  const fields = TIMESTAMPED[at];
  if (fields && typeof v.uri === 'string') {
    const content = canonicalJson(without(JSON.parse(store.readText(v.uri)), fields));
    return { name: v.name, content_without_timestamps: `sha256:${createHash('sha256').update(content).digest('hex')}` };
  }
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, untimed(x, `${at}.${k}`, store)]));
}

/** What is compared per step: status, outputs (artifact URIs carry their sha256) and a failure's type and details. */
function fingerprint(state: { steps: Record<string, { status: string; outputs?: unknown; error?: { type?: string; details?: unknown } }> }, store: ArtifactStore): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [id, s] of Object.entries(state.steps)) {
    out[id] = JSON.parse(canonicalJson({ status: s.status, outputs: untimed(s.outputs ?? null, id, store), error: s.error ? { type: s.error.type ?? null, details: s.error.details ?? null } : null }));
  }
  return out;
}

const homes: string[] = [];
afterAll(() => homes.forEach((h) => rmSync(h, { recursive: true, force: true })));

describe.skipIf(!hasSharedData())('speed work leaves the nightly outputs bitwise unchanged (sp500_subset)', () => {
  const spec = specSchema.parse({ version: 1, pipelines: { digests: { concurrency: { total: 2, cpu: 2, gpu: 1 }, steps } } });
  const plan = compilePlan(spec, 'digests');
  const home = mkdtempSync(path.join(os.tmpdir(), 'trademl-digests-'));
  homes.push(home);
  const store = new ArtifactStore(path.join(home, 'artifacts'));
  let first: Record<string, unknown> = {};

  it('every step output equals the reference digests', async () => {
    const out = await new EmbeddedRuntime({ home, noCache: true }).start(plan);
    first = fingerprint(out.state, store);
    if (process.env.TRADEML_RECORD_DIGESTS === '1' || !existsSync(REF)) writeFileSync(REF, JSON.stringify(first, null, 1) + '\n');
    const ref = JSON.parse(readFileSync(REF, 'utf8')) as Record<string, unknown>;
    for (const id of Object.keys(steps)) expect({ step: id, value: first[id] }).toEqual({ step: id, value: ref[id] });
  }, 900_000); // 13 s alone; 105-110 s beside the suite's other worker on 2 cores, and over 180 s on a CI machine

  it('a cached re-run returns the same outputs, every step a cache hit', async () => {
    const out = await new EmbeddedRuntime({ home }).start(plan);
    expect(fingerprint(out.state, store)).toEqual(first);
    const hits = Object.values(out.state.steps).filter((s) => s.cacheHit || s.status === 'failed').length;
    expect(hits).toBe(Object.keys(steps).length);
  });
});
