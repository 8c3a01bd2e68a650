/**
 * `options.iv`: Black-76 implied volatility and greeks of every contract (options/pricing/chain-iv.ts:
 * forward from put–call parity per expiry, RBI repo rate, ACT/365 to the 15:30 IST close, bracketed
 * Newton + Brent with an iteration cap, NaN with a reason where no root exists), re-priced to check
 * the inversion. The NIFTY 50 close fills the spot on dates without an Underlying Value.
 */
import { z } from 'zod';
import { dataQuality, ohlcvDaily, optionsChain } from '../../contracts/index.ts';
import { optionsIv } from '../../contracts/options.ts';
import { defineStepKind } from '../types.ts';
import { yieldOrCancel } from './common.ts';

export const optionsIvKind = defineStepKind({
  uses: 'options.iv',
  version: '1',
  description: 'Implied vols (Black-76 on the parity forward, Newton/Brent) and greeks of every contract of an option chain, re-priced against their inputs',
  with: z.strictObject({
    nifty_symbol: z.string().default('NIFTY 50').describe('symbol of the underlying index in the ohlcv.daily input (spot fallback)'),
  }),
  consumes: {
    chain: { contract: optionsChain, description: 'the option chain to solve' },
    index: { contract: ohlcvDaily, description: 'daily closes of the underlying index (the audited view when an audit is upstream)' },
    quality: { contract: dataQuality, many: true, optional: true, description: 'audits upstream: a RED date inside the chain’s date range refuses the step' },
  },
  provides: { iv: optionsIv },
  outputs: z.object({
    iv: optionsIv.schema,
    dates: z.number().int().describe('dates solved'),
    contracts: z.number().int().describe('contracts'),
    solved: z.number().int().describe('contracts with an IV'),
    reasons: z.record(z.string(), z.number().int()).describe('contracts without an IV, per reason'),
    max_reprice_error: z.number().describe('max |Black-76(IV) − price| over solved contracts, INR'),
    spot_from_index: z.number().int().describe('dates whose spot came from the index close (no Underlying Value)'),
  }),
  async run(ctx, w) {
    const { readChainParquet } = await import('../../options/data/chain.ts');
    const { groupByDate } = await import('../../options/data/chain.ts');
    const { closeOn } = await import('../../options/data/index-series.ts');
    const { solveDateChain } = await import('../../options/pricing/chain-iv.ts');
    const { black76Price } = await import('../../options/pricing/black76.ts');
    const { readCloses, writeIvTables } = await import('./io.ts');
    const { assertNotRedWithin } = await import('./guard.ts');
    const chain = ctx.input('chain');
    const index = ctx.input('index');
    const rows = await readChainParquet(ctx.artifacts.path(chain.value));
    const byDate = groupByDate(rows);
    const dates = [...byDate.keys()];
    assertNotRedWithin(ctx.inputs('quality'), dates[0] ?? '', dates.at(-1) ?? '');
    const nifty = (await readCloses(ctx.artifacts.path(index.value), [w.nifty_symbol], index.step))[w.nifty_symbol]!;
    const history = [];
    for (const [i, d] of dates.entries()) {
      history.push(solveDateChain(d, byDate.get(d)!, closeOn(nifty, d)));
      if (i % 20 === 19) {
        ctx.progress({ fraction: (0.8 * (i + 1)) / dates.length, current: i + 1, total: dates.length, message: `solved ${d}` });
        await yieldOrCancel(ctx.signal, 'IV solve');
      }
    }
    const reasons: Record<string, number> = {};
    let solved = 0;
    let worst = 0;
    for (const h of history) {
      for (const s of h.slices) {
        for (const c of s.contracts) {
          if (c.reason) {
            reasons[c.reason] = (reasons[c.reason] ?? 0) + 1;
            continue;
          }
          solved++;
          worst = Math.max(worst, Math.abs(black76Price({ type: c.type, forward: s.forward, strike: c.strike, t: s.t, vol: c.iv, df: s.df }) - c.price));
        }
      }
    }
    ctx.progress({ fraction: 0.85, message: 'writing IV tables' });
    const t = await writeIvTables(ctx.artifacts, history);
    const n = rows.length;
    return {
      iv: { dataset: chain.value.dataset, calendar: 'nse', ...t, n_contracts: n, n_solved: solved, reasons, max_reprice_error: worst },
      dates: history.length, contracts: n, solved, reasons, max_reprice_error: worst,
      spot_from_index: history.filter((h) => h.spotSource === 'index_close').length,
    };
  },
});
