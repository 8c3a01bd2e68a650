import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ArtifactStore } from '../../artifacts/store.ts';
import { fromStreams, latestByKey, toStream, TrialLedger, type TrialEvaluation } from '../../governance/trial_ledger.ts';
import { openTracker } from '../../tracking/index.ts';
import { tempDir } from '../support/context.ts';

const DATES = ['2015-01-02', '2015-01-05', '2015-01-06', '2015-01-07'];

function evaluation(key: string, evalDigest: string, net: number[], family = 'equities_xs'): TrialEvaluation {
  const paths = new Map([[1, new Map(DATES.map((d, i) => [d, net[i]!]))], [2, new Map(DATES.slice(1).map((d, i) => [d, net[i + 1]! / 2]))]]);
  return { family, key, eval_digest: evalDigest, kind: 'model', label: key, config: { params: { eta: 0.1 } }, calendar: 'nyse', pipeline_run: 'run-1', evaluated_at: '2026-01-01T00:00:00Z', ...fromStreams(paths) };
}

describe('persistent trial ledger on the tracker (append-only, per family)', () => {
  const home = tempDir('trial-ledger-');
  const store = new ArtifactStore(path.join(home, 'artifacts'));
  const open = () => openTracker({ env: {}, home, store });

  it('appends, dedupes by evaluation digest, survives a new tracker/process, keeps the latest evaluation of each key', async () => {
    let tr = open();
    try {
      const led = new TrialLedger(tr, 'equities_xs', tempDir('led-work-'));
      expect(await led.list()).toEqual([]);
      expect(await led.append(evaluation('a', 'e1', [0.01, -0.02, 0.03, 0.0]), new Set())).toBe(true);
      expect(await led.append(evaluation('b', 'e2', [0.0, 0.01, 0.01, 0.02]), new Set())).toBe(true);
      // an evaluation already known is not appended again
      expect(await led.append(evaluation('a', 'e1', [0.01, -0.02, 0.03, 0.0]), new Set(['e1']))).toBe(false);
    } finally {
      await tr.close();
    }
    // another night, another tracker instance: the ledger is still there; a re-evaluation of key a is appended
    tr = open();
    try {
      const led = new TrialLedger(tr, 'equities_xs', tempDir('led-work-'));
      const before = await led.list();
      expect(before.map((e) => e.eval_digest)).toEqual(['e1', 'e2']);
      expect(await led.append(evaluation('a', 'e3', [0.02, 0.02, 0.02, 0.01]), new Set(before.map((e) => e.eval_digest)))).toBe(true);
      const all = await led.list();
      expect(all).toHaveLength(3);
      const latest = latestByKey(all);
      expect(latest.map((e) => [e.key, e.eval_digest])).toEqual([['a', 'e3'], ['b', 'e2']]);
      // streams round-trip: path 2 has no value on the first date
      const s = toStream(latest[0]!);
      expect([...s.paths.get(1)!.values()]).toEqual([0.02, 0.02, 0.02, 0.01]);
      expect(s.paths.get(2)!.has(DATES[0]!)).toBe(false);
      expect(s.paths.get(2)!.get(DATES[1]!)).toBe(0.01);
      // another family's ledger is separate
      expect(await new TrialLedger(tr, 'other', tempDir('led-work-')).list()).toEqual([]);
    } finally {
      await tr.close();
    }
  });
});
