/**
 * Upstream steps of the fit kinds' tests, in the contract shapes makeTestContext binds: the fixture
 * panel of test/fit/panel.ts, or the real data kinds (features.equities, labels.*) on an S&P slice.
 */
import type { ArtifactRef, ArtifactStore } from '../../artifacts/store.ts';
import { featuresEquities, labelsHorizon, labelsTripleBarrier } from '../../kinds/features/index.ts';
import type { StepOutputs } from '../../kinds/types.ts';
import { makeTestContext, runKind, type TestUpstream } from '../support/context.ts';
import { writeSp500Slice } from '../support/sp500.ts';
import type { FixturePanel } from './panel.ts';

/** A qc.audit upstream step providing data.quality with `status` (RED: one RED date by rule `jump`). */
export function auditUpstream(report: ArtifactRef, status: 'GREEN' | 'RED' = 'GREEN'): TestUpstream {
  const red = status === 'RED';
  return {
    uses: 'qc.audit',
    outputs: { quality: { dataset: 'sp500_all_stocks_5yr', status, red_dates: red ? ['2016-05-19'] : [], amber_dates: [], red_reasons: red ? [{ rule: 'jump', count: 1 }] : [], red_hints: red ? ['jump: 1 RED date (configs/data/audit.yml rules.jump)'] : [], lost_symbols: [], quarantined_files: [], report } },
  };
}

/**
 * Upstream steps of a fit kind on the fixture panel, in the contract shapes: an audit (data.quality),
 * features (features.panel, calendar nyse) and labels of one kind (labels.panel).
 */
export function fixtureUpstream(p: FixturePanel, labelKind: 'labels.horizon' | 'labels.triple_barrier', auditStatus: 'GREEN' | 'RED' = 'GREEN'): Record<string, TestUpstream> {
  const horizon = labelKind === 'labels.horizon';
  const features = { ...p.features, feature_names: p.featureNames, feature_set_version: `fixture@${p.registry.digest.slice(7, 19)}`, registry: p.registry, registry_digest: p.registry.digest, calendar: 'nyse' };
  const labels = { ...(horizon ? p.horizonLabels : p.classLabels), labels_kind: horizon ? 'horizon' : 'triple_barrier', task: horizon ? 'regression' : 'classification', max_horizon_bars: 6, entry: 'next_open', calendar: 'nyse' };
  return {
    audit: auditUpstream(p.auditReport, auditStatus),
    features: { uses: 'features.equities', outputs: { features } },
    labels: { uses: labelKind, outputs: { labels } },
  };
}

/** Outputs of the real data kinds on an S&P slice: features.equities, labels.horizon (5), labels.triple_barrier (2σ/1σ, 10 bars). */
export interface RealChain {
  features: StepOutputs;
  horizon: StepOutputs;
  barriers: StepOutputs;
  auditReport: ArtifactRef;
}

/** Runs features.equities and both label kinds on the daily OHLCV of `symbols` (an ingest.ohlcv upstream). */
export async function realChain(store: ArtifactStore, symbols: string[]): Promise<RealChain> {
  const tmp = store.tempPath('ohlcv.parquet');
  await writeSp500Slice(tmp, symbols);
  const ref = await store.putFile(tmp, { name: 'ohlcv.parquet' });
  const upstream = { ingest: { uses: 'ingest.ohlcv', outputs: { table: { ...ref, dataset: 'sp500_all_stocks_5yr', calendar: 'nyse' } } } };
  return {
    features: await runKind(featuresEquities, {}, makeTestContext({ store, kind: featuresEquities, upstream })),
    horizon: await runKind(labelsHorizon, { horizon: 5 }, makeTestContext({ store, kind: labelsHorizon, upstream })),
    barriers: await runKind(labelsTripleBarrier, { tp_sigma: 2, sl_sigma: 1, max_h: 10 }, makeTestContext({ store, kind: labelsTripleBarrier, upstream })),
    auditReport: await store.putJson({ fixture: 'realChain', symbols }, 'audit_report.json'),
  };
}
