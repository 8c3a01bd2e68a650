/**
 * The market-making kinds through makeTestContext on the real data: A-S calibration and baseline
 * on Binance BTCUSDT hourly bars and on the GOOG LOB session, then the warm-started RL market maker
 * against it (reduced training), the side-by-side summary and criterion, and the guards (a
 * calibration that does not match what mm.rl recomputes; a source without its market data).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { mmAvellanedaStoikovKind, mmRlKind } from '../../kinds/execution/index.ts';
import type { StepOutputs } from '../../kinds/types.ts';
import { hasSharedData } from '../../lib/paths.ts';
import { makeTestContext, runKind, type TestUpstream } from '../support/context.ts';
import { freshStore, klinesUpstream, lobUpstream } from './support.ts';

const tinyRl = { episodes: 6, warm_episodes: 3, warm_epochs: 1, warmup: 50, hidden: [8], seeds: 2 };

describe.skipIf(!hasSharedData())('market-making kinds on real data', () => {
  const store = freshStore();
  let bars: Record<string, TestUpstream>;
  let lob: Record<string, TestUpstream>;
  const out = (o: StepOutputs) => o as Record<string, any>;

  beforeAll(async () => {
    bars = await klinesUpstream(store);
    lob = await lobUpstream(store);
  }, 180_000);

  it('A-S on BTCUSDT bars, then RL side by side: γ by training Sharpe, A-S rows reproduced, criterion from the rows', async () => {
    const cal = out(await runKind(mmAvellanedaStoikovKind, { source: 'bars', symbol: 'BTCUSDT', gammas: [0.03, 0.3] }, makeTestContext({ store, kind: mmAvellanedaStoikovKind, upstream: bars })));
    const c = cal.calibration;
    expect(c.venue).toBe('BTCUSDT hourly bars');
    const best = c.gamma_selection.reduce((a: any, b: any) => (b.train_sharpe > a.train_sharpe ? b : a));
    expect(c.gamma).toBe(best.gamma);
    expect(c.sigma.lo).toBeLessThanOrEqual(c.sigma.value);
    expect(c.sigma.hi).toBeGreaterThanOrEqual(c.sigma.value);
    expect(c.k.value).toBeGreaterThan(0);
    expect(c.settings.bars.testFrom).toBe(Date.UTC(2020, 0, 1) / 1000);
    expect(c.rows.map((r: any) => [r.policy, r.calendar])).toEqual([['A-S', '24x7@1h']]);

    const up = { ...bars, as_btc: { uses: 'mm.avellaneda_stoikov', outputs: cal, needs: ['ingest_klines'] } };
    const rl = out(await runKind(mmRlKind, tinyRl, makeTestContext({ store, kind: mmRlKind, upstream: up })));
    const s = rl.study;
    expect(s.rows[0]).toEqual(c.rows[0]);
    expect(s.rows.map((r: any) => r.policy)).toEqual(['A-S', 'RL (warm-started from A-S, seed 31)', 'RL (warm-started from A-S, seed 32)']);
    const [sum] = s.summary;
    expect(sum.rl_sharpes).toEqual([s.rows[1].sharpe, s.rows[2].sharpe]);
    expect(sum.rl_mean_sharpe).toBeCloseTo((s.rows[1].sharpe + s.rows[2].sharpe) / 2, 12);
    expect(s.criterion.holds).toBe(sum.rl_mean_sharpe >= sum.as_sharpe);
    expect(rl.criterion_holds).toBe(s.criterion.holds);
    expect(s.training.map((t: any) => [t.seed, t.episodes])).toEqual([[31, 6], [32, 6]]);

    const tampered = { ...up, as_btc: { ...up.as_btc, outputs: { ...cal, calibration: { ...c, rows: [{ ...c.rows[0], sharpe: c.rows[0].sharpe + 1 }] } } } };
    const err = await runKind(mmRlKind, { ...tinyRl, seeds: 1 }, makeTestContext({ store, kind: mmRlKind, upstream: tampered })).catch((e) => e);
    expect(err.type).toBe('InputError');
    expect(err.message).toMatch(/recomputing A-S on BTCUSDT hourly bars/);
  }, 240_000);

  it('A-S and RL on the GOOG LOB: two held-out evaluations (arrival model, replay), each compared', async () => {
    const w = { source: 'lob', symbol: 'GOOG', gammas: [0.01, 0.03], arrival_eval_episodes: 10, replay_stride_seconds: 120 };
    const cal = out(await runKind(mmAvellanedaStoikovKind, w, makeTestContext({ store, kind: mmAvellanedaStoikovKind, upstream: lob })));
    const c = cal.calibration;
    expect(c.units).toEqual({ price: 'USD per share', time: 'seconds' });
    expect(c.rows.map((r: any) => r.evaluation)).toEqual(['arrival model (held-out seeds)', 'replay (held-out later part)']);
    expect(c.rows[0].episodes).toBe(10);
    const up = { ...lob, as_lob: { uses: 'mm.avellaneda_stoikov', outputs: cal, needs: ['ingest'] } };
    const rl = out(await runKind(mmRlKind, { ...tinyRl, seeds: 1 }, makeTestContext({ store, kind: mmRlKind, upstream: up })));
    expect(rl.study.summary.map((x: any) => x.evaluation)).toEqual(c.rows.map((r: any) => r.evaluation));
    expect(rl.study.criterion.holds).toBe(rl.study.summary.every((x: any) => x.rl_mean_sharpe >= x.as_sharpe));
  }, 240_000);

  it('a source without its market data upstream is an InputError', async () => {
    const err = await runKind(mmAvellanedaStoikovKind, { source: 'lob', symbol: 'GOOG' }, makeTestContext({ store, kind: mmAvellanedaStoikovKind, upstream: bars })).catch((e) => e);
    expect(err.type).toBe('InputError');
    expect(err.message).toMatch(/source lob needs orderbook.messages/);
    const none = await runKind(mmAvellanedaStoikovKind, { source: 'bars', symbol: 'DOGEUSDT' }, makeTestContext({ store, kind: mmAvellanedaStoikovKind, upstream: bars })).catch((e) => e);
    expect(none.message).toMatch(/no bars of DOGEUSDT upstream; symbols: BTCUSDT, ETHUSDT/);
  }, 120_000);
});
