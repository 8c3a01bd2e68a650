/**
 * Upstream steps of the execution kinds' tests, produced by the real data kinds on the shared data:
 * ingest.lob on lob_lobster_samples, ingest.klines on crypto_binance_spot_1h, ingest.ohlcv + qc.audit
 * on sp500_subset. Each runs once per store (memoised) through makeTestContext.
 */
import path from 'node:path';
import { ArtifactStore } from '../../artifacts/store.ts';
import { STEP_KINDS } from '../../kinds/registry.ts';
import type { AnyStepKind, StepOutputs } from '../../kinds/types.ts';
import { makeTestContext, runKind, tempDir, type TestUpstream } from '../support/context.ts';

const kind = (uses: string): AnyStepKind => STEP_KINDS.get(uses)!;

/** A fresh artifact store under a temp home (home = the store's parent folder). */
export function freshStore(): ArtifactStore {
  return new ArtifactStore(path.join(tempDir('trademl-exec-'), 'artifacts'));
}

const memo = new Map<string, Promise<StepOutputs>>();
function once(store: ArtifactStore, key: string, fn: () => Promise<StepOutputs>): Promise<StepOutputs> {
  const k = `${store.root}|${key}`;
  if (!memo.has(k)) memo.set(k, fn());
  return memo.get(k)!;
}

/** `{ ingest: ingest.lob outputs }` on lob_lobster_samples. */
export async function lobUpstream(store: ArtifactStore): Promise<Record<string, TestUpstream>> {
  const k = kind('ingest.lob');
  const outputs = await once(store, 'lob', () => runKind(k, { dataset: 'lob_lobster_samples' }, makeTestContext({ store, kind: k })));
  return { ingest: { uses: 'ingest.lob', outputs } };
}

/** `{ ingest_klines: ingest.klines outputs }` on crypto_binance_spot_1h. */
export async function klinesUpstream(store: ArtifactStore): Promise<Record<string, TestUpstream>> {
  const k = kind('ingest.klines');
  const outputs = await once(store, 'klines', () => runKind(k, { dataset: 'crypto_binance_spot_1h' }, makeTestContext({ store, kind: k })));
  return { ingest_klines: { uses: 'ingest.klines', outputs } };
}

/** `{ equities, audit }`: ingest.ohlcv and qc.audit of sp500_subset. */
export async function equitiesUpstream(store: ArtifactStore): Promise<Record<string, TestUpstream>> {
  const ing = kind('ingest.ohlcv');
  const aud = kind('qc.audit');
  const equities = await once(store, 'ohlcv', () => runKind(ing, { dataset: 'sp500_subset' }, makeTestContext({ store, kind: ing })));
  const audit = await once(store, 'audit', () => runKind(aud, {}, makeTestContext({ store, kind: aud, upstream: { equities: { uses: 'ingest.ohlcv', outputs: equities } } })));
  return { equities: { uses: 'ingest.ohlcv', outputs: equities }, audit: { uses: 'qc.audit', outputs: audit, needs: ['equities'] } };
}
