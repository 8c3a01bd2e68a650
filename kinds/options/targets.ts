/**
 * `options.targets`: delta-hedged P&L of a long ATM straddle held `horizon` sessions, re-hedged daily
 * at the close on the real NIFTY path (options/targets/straddle.ts), with its label 1{P&L > 0}; also
 * as a one-symbol `labels.panel` for the CPCV learner. The panel follows the project's fill rule
 * (labels start at the fill after the signal, never at the signal's own close): the label of signal
 * date t is the straddle entered at the close (settle) of the NEXT session t+1 and exited h sessions
 * later, so its interval [t, t1] spans h + 1 sessions (purging and the embargo rule use it); label and
 * `ret` = P&L ÷ entry premium, entry = close.
 */
import { z } from 'zod';
import { labels } from '../../contracts/index.ts';
import { optionsIv, optionsTargets } from '../../contracts/options.ts';
import { defineStepKind } from '../types.ts';

const num = (d: string) => z.number().nullable().describe(d);

export const optionsTargetsKind = defineStepKind({
  uses: 'options.targets',
  version: '1',
  description: 'Delta-hedged ATM straddle P&L over the holding horizon (daily close re-hedge on the real NIFTY path) and P(P&L > 0), also as a labels panel',
  with: z.strictObject({
    horizon: z.number().int().min(1).max(60).default(5).describe('holding horizon, sessions'),
    panel_symbol: z.string().default('NIFTY').describe('symbol column of the labels panel (must match the features panel)'),
  }),
  consumes: { iv: { contract: optionsIv, description: 'implied vols, greeks and prices per contract' } },
  provides: { targets: optionsTargets, labels },
  outputs: z.object({
    targets: optionsTargets.schema,
    labels: labels.schema,
    label_rows: z.number().int().describe('rows of the labels panel (signal dates whose next-session straddle has a target)'),
    n: z.number().int().describe('dates with a target'),
    missing: z.record(z.string(), z.number().int()).describe('dates without a target, per reason'),
    mean_pnl: num('mean P&L, INR per unit of the index'),
    median_pnl: num('median P&L, INR per unit'),
    mean_pnl_over_premium: num('mean P&L ÷ entry premium'),
    p_positive: num('P(P&L > 0)'),
  }),
  async run(ctx, w) {
    const { ChainIndex } = await import('../../options/pricing/lookup.ts');
    const { straddleTargets, straddleTargetStats } = await import('../../options/targets/straddle.ts');
    const { readIvHistory } = await import('./io.ts');
    const { fin, writeParquet } = await import('./tables.ts');
    const index = new ChainIndex(await readIvHistory(ctx.artifacts, ctx.input('iv').value));
    ctx.progress({ fraction: 0.4, message: `straddle targets, h = ${w.horizon}` });
    const t = straddleTargets(index, w.horizon);
    const st = straddleTargetStats(t);
    const table = await writeParquet(ctx.artifacts, 'straddle_targets.parquet', [
      { name: 'date', type: 'DATE', values: t.map((x) => x.date) },
      { name: 't1', type: 'DATE', values: t.map((x) => x.t1 || null) },
      { name: 'expiry', type: 'DATE', values: t.map((x) => x.expiry || null) },
      { name: 'strike', type: 'DOUBLE', values: t.map((x) => x.strike) },
      { name: 'entry', type: 'DOUBLE', values: t.map((x) => x.entry) },
      { name: 'exit', type: 'DOUBLE', values: t.map((x) => x.exit) },
      { name: 'hedge_pnl', type: 'DOUBLE', values: t.map((x) => x.hedgePnl) },
      { name: 'carry', type: 'DOUBLE', values: t.map((x) => x.carry) },
      { name: 'pnl', type: 'DOUBLE', values: t.map((x) => x.pnl) },
      { name: 'pnl_over_premium', type: 'DOUBLE', values: t.map((x) => x.pnlOverPremium) },
      { name: 'label', type: 'INTEGER', values: t.map((x) => (x.label === null ? NaN : x.label)) },
      { name: 'reason', type: 'VARCHAR', values: t.map((x) => x.reason) },
    ], ['date']);
    // signal date = the session before the straddle's entry session (fill after the decision)
    const ok = t.flatMap((x, i) => (x.reason === null && i > 0 ? [{ ...x, signal: index.dates[i - 1]! }] : []));
    const panel = await writeParquet(ctx.artifacts, 'straddle_labels.parquet', [
      { name: 'date', type: 'DATE', values: ok.map((x) => x.signal) },
      { name: 'symbol', type: 'VARCHAR', values: ok.map(() => w.panel_symbol) },
      { name: 't1', type: 'DATE', values: ok.map((x) => x.t1) },
      { name: 'label', type: 'DOUBLE', values: ok.map((x) => x.pnlOverPremium) },
      { name: 'ret', type: 'DOUBLE', values: ok.map((x) => x.pnlOverPremium) },
    ], ['date', 'symbol']);
    return {
      targets: { calendar: 'nse', horizon_bars: w.horizon, table, n: st.n, p_positive: fin(st.pPositive), mean_pnl_over_premium: fin(st.meanOverPremium) },
      labels: { ...panel, labels_kind: 'horizon' as const, task: 'regression' as const, max_horizon_bars: w.horizon + 1, entry: 'close' as const, calendar: 'nse' },
      label_rows: ok.length, n: st.n, missing: st.missingReasons, mean_pnl: fin(st.mean), median_pnl: fin(st.median), mean_pnl_over_premium: fin(st.meanOverPremium), p_positive: fin(st.pPositive),
    };
  },
});
