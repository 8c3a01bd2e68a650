import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ArtifactStore, type ArtifactRef } from '../../artifacts/store.ts';
import { runHeadline, tradeHeadline } from '../../cli/headline.ts';
import { contractId } from '../../contracts/define.ts';
import { backtestReturns, gateVerdict } from '../../contracts/trading.ts';
import type { ViewStep } from '../../report/provided.ts';
import { tempDir } from '../support/context.ts';
import { gateBarsFixture } from './support/fixtures.ts';

// The end-of-run headline of `trademl run` (cli/headline.ts): a gate that rejects the candidate is an
// outcome ("completed — not promoted"), and the backtest's fill timings and realised vol are shown.
describe('run headline', () => {
  let ref: ArtifactRef;
  beforeAll(async () => {
    ref = await new ArtifactStore(path.join(tempDir('trademl-headline-cli-'), 'artifacts')).putJson({}, 'doc.json');
  });

  const gate = (passed: boolean, id = 'gate'): ViewStep => {
    const bars = gateBarsFixture(passed);
    const failing = bars.filter((b) => b.blocking && !b.pass).map((b) => b.id);
    const verdict = { passed, bars, failing, table: '', report: ref, sharpe: 0.8, max_drawdown: 0.11, psr: 0.99, dsr: 0.97, pbo: passed ? 0.22 : 0.61, n_trials: 12 };
    return { stepId: id, uses: 'gate.any', status: 'succeeded', outputs: { verdict, passed }, provides: { verdict: contractId(gateVerdict) } };
  };
  const skipped = (id: string): ViewStep => ({ stepId: id, uses: 'x', status: 'skipped', outputs: {} });
  const backtest = (outputs: Record<string, unknown>, id = 'backtest'): ViewStep => ({
    stepId: id,
    uses: 'bt.any',
    status: 'succeeded',
    outputs: { returns: { calendar: 'nyse', execution: 'next_open', source: { step: 'fit', sleeve: 'h5' }, returns: ref, metrics: ref, sleeve_returns: null }, ...outputs },
    provides: { returns: contractId(backtestReturns) },
  });
  const fills = {
    execution: 'next_open',
    per_path: [],
    median: { next_open: { sharpe: 0.41, sharpe_gross: 0.62 }, close: { sharpe: 0.95, sharpe_gross: 1.1 } },
  };

  it('reads a gate that rejected the candidate as a completed run that was not promoted', () => {
    expect(runHeadline('r1', 'succeeded', 1500, [gate(false), skipped('approve'), skipped('promote')])).toBe('run r1: completed — not promoted (failing bars: pbo) in 1.5s');
    expect(runHeadline('r1', 'succeeded', 1500, [gate(true)])).toBe('run r1: succeeded in 1.5s');
    expect(runHeadline('r1', 'failed', 1500, [gate(false)])).toBe('run r1: failed in 1.5s');
    expect(runHeadline('r1', 'succeeded', 1500, [gate(false, 'gate_a'), gate(true, 'gate_b')])).toBe('run r1: completed — not promoted (failing bars: pbo [gate_a]) in 1.5s');
  });

  it('shows the fill timings side by side and the realised vol against its target', () => {
    expect(tradeHeadline([backtest({ fills, realised_vol: { target: 0.1, median: 0.112, ratio_median: 1.12 } })])).toEqual([
      '  fills: median Sharpe next_open (used) 0.41 net / 0.62 gross  vs  close (not tradable) 0.95 net / 1.10 gross',
      '  realised vol: 11.2% median over paths vs target 10.0% (1.12×)',
    ]);
    expect(tradeHeadline([backtest({ fills: { ...fills, execution: 'close' }, realised_vol: { target: null, median: 0.2, ratio_median: null } })])).toEqual([
      '  fills: median Sharpe close (used, not tradable) 0.95 net / 1.10 gross  vs  next_open 0.41 net / 0.62 gross',
      '  realised vol: 20.0% median over paths; no vol target',
    ]);
    expect(tradeHeadline([backtest({}), gate(false)])).toEqual([]);
    expect(tradeHeadline([backtest({ fills }, 'bt_a'), backtest({ fills }, 'bt_b')]).map((l) => l.split(':')[0])).toEqual(['  fills [bt_a]', '  fills [bt_b]']);
  });
});
