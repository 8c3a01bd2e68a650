/**
 * Test fixture for the learners: a REAL S&P 500 feature panel (test/fit/panel.ts: 8 rank features
 * with warm-up NaNs, 5-day horizon labels and the 3-class vertical-barrier labels) loaded with the
 * same loader fit.cpcv uses (cv/panel.ts), cut into TrainingSets by date.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ArtifactStore } from '../../artifacts/store.ts';
import { withDuckDB } from '../../lib/duckdb.ts';
import { loadPanel, type Panel } from '../../cv/panel.ts';
import type { TrainingSet } from '../../models/learner.ts';
import { buildFixturePanel } from '../fit/panel.ts';

/** A fresh temp folder (local: test/support/context.ts pulls in the whole step-kind layer). */
export function tempDir(prefix = 'trademl-learners-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export const LEARNER_SYMBOLS = ['AAPL', 'MSFT', 'JPM', 'XOM', 'JNJ', 'KO', 'GE', 'INTC', 'T', 'NFLX', 'AMD', 'F', 'PYPL', 'LNT', 'EBAY', 'PG', 'WMT', 'CVX', 'MRK', 'HD'];

/** The 3-class panel's rows (they have vol_20): labels are {−1, 0, +1}; `ret` the 5-day log return. */
export async function loadLearnerPanel(symbols = LEARNER_SYMBOLS, window: { from?: string; to?: string } = { from: '2014-01-01', to: '2016-12-31' }): Promise<Panel> {
  const dir = tempDir('trademl-learners-');
  const store = new ArtifactStore(path.join(dir, 'a'));
  const p = await buildFixturePanel(store, dir, symbols, window);
  return withDuckDB((con) => loadPanel(con, store.path(p.features), store.path(p.classLabels), p.featureNames));
}

/** Row range [a, b) of the panel's dates da..db (date indices, db exclusive). */
export function dateRows(panel: Panel, da: number, db: number): [number, number] {
  return [panel.blocks[da]!, panel.blocks[Math.min(db, panel.blocks.length - 1)]!];
}

/**
 * A TrainingSet of rows [a, b) with target `y(i)`; `groups` = one query group per date; `weight`
 * per row (or per date with groups).
 */
export function slice(panel: Panel, a: number, b: number, y: (i: number) => number, o: { groups?: boolean; weight?: (i: number) => number } = {}): TrainingSet {
  const F = panel.nFeatures;
  const set: TrainingSet = { X: panel.X.slice(a * F, b * F), nRows: b - a, nFeatures: F, y: Float32Array.from({ length: b - a }, (_, k) => y(a + k)) };
  if (o.groups) {
    const sizes: number[] = [];
    const gw: number[] = [];
    for (let i = a; i < b; i++) {
      if (i === a || panel.dateIdx[i] !== panel.dateIdx[i - 1]) {
        sizes.push(0);
        if (o.weight) gw.push(o.weight(i));
      }
      sizes[sizes.length - 1]!++;
    }
    set.groups = Uint32Array.from(sizes);
    if (o.weight) set.weight = Float32Array.from(gw);
  } else if (o.weight) {
    set.weight = Float32Array.from({ length: b - a }, (_, k) => o.weight!(a + k));
  }
  return set;
}

/** Max |a − b| over two equally long arrays (Infinity when the lengths differ). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
