/**
 * Upstream steps of the options kinds' tests, produced by the real kinds on the shipped NIFTY
 * chains and India indices (the `options_vol` DAG of pipelines.yaml, step by step, through
 * makeTestContext so inputs are bound by the compiler's rule). Outputs and artifacts are cached per
 * machine under the OS temp folder, keyed by the sha256 of the source files' names, sizes and mtimes
 * and of every source file that produces them (kinds/options, options/, contracts, configs, the
 * data kinds), as test/options/real-data.ts does: a code or data change recomputes.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ArtifactStore } from '../../artifacts/store.ts';
import { STEP_KINDS } from '../../kinds/registry.ts';
import type { AnyStepKind, StepOutputs } from '../../kinds/types.ts';
import { dataRoot, PROJECT_ROOT } from '../../lib/paths.ts';
import { makeTestContext, runKind, tempDir, type TestUpstream } from '../support/context.ts';

/** True when the shipped NIFTY chains, India indices and the S&P subset are present. */
export function hasOptionsData(): boolean {
  return ['nse_nifty_options_eod', 'india_indices', 'sp500_all_stocks_5yr'].every((d) => existsSync(path.join(dataRoot(), d)));
}

/** The kind registered as `uses`. */
export const kind = (uses: string): AnyStepKind => {
  const k = STEP_KINDS.get(uses);
  if (!k) throw new Error(`no kind ${uses}`);
  return k;
};

function files(dir: string, ext = '.ts'): string[] {
  const abs = path.join(PROJECT_ROOT, dir);
  if (!existsSync(abs)) return [];
  return readdirSync(abs, { recursive: true, withFileTypes: false }).map(String).filter((f) => f.endsWith(ext)).sort().map((f) => path.join(dir, f));
}

/** Cache key: data files (name, size, mtime) and the code and configs that compute the steps. */
function cacheKey(): string {
  const h = createHash('sha256');
  for (const dir of ['nse_nifty_options_eod', 'india_indices']) {
    for (const f of readdirSync(path.join(dataRoot(), dir)).sort()) {
      const s = statSync(path.join(dataRoot(), dir, f));
      h.update(`${dir}/${f}:${s.size}:${s.mtimeMs}\n`);
    }
  }
  const code = [...files('kinds/options'), ...files('options'), ...files('contracts'), ...files('configs/options', '.yml'), ...files('data/ingest'), 'data/pipeline.ts', 'kinds/data/index.ts', 'cv/panel.ts', 'cv/trials.ts', 'cv/fold.ts', 'cv/cpcv.ts', 'cv/ledger.ts', 'cv/oof.ts', 'configs/data/nse_nifty_options_eod.yml', 'configs/data/india_indices.yml', 'configs/data/audit.yml', 'configs/data/sp500_subset.yml'];
  for (const f of code) if (existsSync(path.join(PROJECT_ROOT, f))) h.update(`${f}\n`).update(readFileSync(path.join(PROJECT_ROOT, f)));
  return h.digest('hex').slice(0, 20);
}

let root: string | undefined;
/** The per-machine cache folder of this code and data (artifact store + step outputs). */
function cacheRoot(): string {
  root ??= path.join(os.tmpdir(), 'trademl-options-kinds', cacheKey());
  mkdirSync(path.join(root, 'outputs'), { recursive: true });
  return root;
}

/** The shared artifact store of the cached upstream steps. */
export function sharedStore(): ArtifactStore {
  return new ArtifactStore(path.join(cacheRoot(), 'artifacts'));
}

/** A fresh store (for tests that must not touch the shared cache). */
export function freshStore(): ArtifactStore {
  return new ArtifactStore(path.join(tempDir('trademl-options-kinds-'), 'artifacts'));
}

/** One step of the test DAG: kind, `with`, needs and explicit bindings (as in pipelines.yaml). */
interface StepDef {
  uses: string;
  with: Record<string, unknown>;
  needs: string[];
  bind?: Record<string, string>;
}

/** A fast hedging config for tests (small networks trained briefly; the figures are not the study's). */
export const QUICK_HEDGING = 'configs/options/hedging_quick.yml';

/** The options_vol DAG (pipelines.yaml), with the 60-name S&P subset as the breadth panel and the quick hedging config. */
export const DAG: Record<string, StepDef> = {
  chains: { uses: 'ingest.options_chain', with: { dataset: 'nse_nifty_options_eod' }, needs: [] },
  indices: { uses: 'ingest.index', with: { dataset: 'india_indices' }, needs: [] },
  indices_qc: { uses: 'qc.audit', with: { amber_coverage: 0.6, rules: { missing_ohlc: { affects_status: false } } }, needs: ['indices'] },
  chain_audit: { uses: 'options.chain_audit', with: {}, needs: ['chains'] },
  iv: { uses: 'options.iv', with: {}, needs: ['chain_audit', 'indices_qc'] },
  surface: { uses: 'options.surface', with: {}, needs: ['iv'] },
  features: { uses: 'options.features', with: {}, needs: ['iv'] },
  targets: { uses: 'options.targets', with: { horizon: 5 }, needs: ['iv'] },
  fit: { uses: 'options.fit', with: {}, needs: ['features', 'targets'] },
  backtest: { uses: 'options.backtest', with: { hold_days: 5 }, needs: ['fit'] },
  gate: { uses: 'options.gate', with: {}, needs: ['backtest'] },
  equities: { uses: 'ingest.ohlcv', with: { dataset: 'sp500_subset' }, needs: [] },
  router: { uses: 'options.router', with: {}, needs: ['features', 'equities'], bind: { index: '${{ steps.indices_qc.outputs.curated }}', breadth: '${{ steps.equities.outputs.table }}' } },
  hedging: { uses: 'options.hedging', with: { config: QUICK_HEDGING }, needs: ['features'] },
};

const memo = new Map<string, Promise<StepOutputs>>();

/** The upstream views of `needs` and everything above them (ids → uses, outputs, needs). */
export async function upstreamOf(needs: string[]): Promise<Record<string, TestUpstream>> {
  const out: Record<string, TestUpstream> = {};
  const add = async (id: string): Promise<void> => {
    if (out[id]) return;
    const d = DAG[id]!;
    out[id] = { uses: d.uses, outputs: await step(id), needs: d.needs };
    for (const n of d.needs) await add(n);
  };
  for (const n of needs) await add(n);
  return out;
}

/** Outputs of step `id` of {@link DAG} (computed once per machine and code version). */
export function step(id: string): Promise<StepOutputs> {
  let p = memo.get(id);
  if (!p) {
    p = (async () => {
      const file = path.join(cacheRoot(), 'outputs', `${id}.json`);
      if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as StepOutputs;
      const d = DAG[id]!;
      const store = sharedStore();
      const k = kind(d.uses);
      const ctx = makeTestContext({ kind: k, upstream: await upstreamOf(d.needs), store, stepId: id, bind: d.bind });
      const outputs = await runKind(k, d.with, ctx);
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(outputs));
      renameSync(tmp, file);
      return outputs;
    })();
    memo.set(id, p);
  }
  return p;
}

/** A context for `uses` below `needs` of the DAG on the shared store (bindings as in pipelines.yaml). */
export async function contextBelow(uses: string, needs: string[], o: { bind?: Record<string, string>; stepId?: string } = {}) {
  const k = kind(uses);
  return { kind: k, ctx: makeTestContext({ kind: k, upstream: await upstreamOf(needs), store: sharedStore(), stepId: o.stepId ?? 'under_test', bind: o.bind }) };
}
