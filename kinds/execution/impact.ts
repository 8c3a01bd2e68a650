import { z } from 'zod';
import { executionImpact } from '../../contracts/execution.ts';
import { defineStepKind } from '../types.ts';
import { lobInputs, readLobSession, repsField, symbolField } from './common.ts';
import { runJob } from './run_job.ts';

const positive = z.number().positive();

/**
 * `execution.impact`: impact calibration of one LOB session (execution/impact/): time-weighted
 * spread and depth profile and 1-s mid volatility (block-bootstrap intervals, Künsch 1989);
 * permanent impact Δmid on signed aggressor volume per horizon (OLS, HC1; Kyle's λ as in Hasbrouck
 * 2007 ch. 5); temporary impact h(n) = ε + η̂·n from walking the visible book and from the recorded
 * aggressor orders (Almgren & Chriss 2000 §2); fill probability of a passive order against
 * distance from the mid and horizon (touch / trade-through bounds); arrival intensity
 * λ(δ) = A·e^(−kδ) (Avellaneda & Stoikov 2008 §2.4); and the AC parameters σ, γ, η = η̂·τ, ε.
 */
export const executionImpactKind = defineStepKind({
  uses: 'execution.impact',
  version: '1',
  description: 'Impact calibration from the order book: spread, depth profile, mid volatility, permanent and temporary impact, fill probability vs distance and time, arrival intensity, Almgren–Chriss parameters — each with a 95% interval',
  with: z
    .object({
      symbol: symbolField,
      permanent_horizons_s: z.array(positive).min(1).default([1, 5, 10, 30, 60]).describe('bucket lengths of the permanent-impact regressions, seconds'),
      temporary_sizes: z.array(positive).min(2).default([100, 200, 300, 500]).describe('order sizes of the book-walk fit, shares'),
      fill_distances_ticks: z.array(positive).min(1).default([5, 10, 20, 30, 50]).describe('distances of the virtual passive orders from the mid, ticks'),
      fill_horizons_s: z.array(positive).min(1).default([1, 5, 10, 30, 60]).describe('fill-probability horizons, seconds'),
      ac_tau_seconds: positive.default(30).describe('child interval τ of the AC η = η̂·τ mapping, seconds (300 s / 10 intervals)'),
      bootstrap_reps: repsField,
    })
    .strict(),
  consumes: lobInputs,
  outputs: z.object({
    impact: executionImpact.schema,
    spread_bps: z.number().nullable().describe('mean quoted spread, bps'),
    permanent_bps_per_100_shares: z.number().nullable().describe('permanent impact at the longest horizon ≤ 30 s, bps per 100 shares'),
    eta_usd_per_share: z.number().nullable().describe('book-walk slope η̂, USD per share²'),
  }),
  provides: { impact: executionImpact },
  async run(ctx, w) {
    const session = await readLobSession(ctx.artifacts, ctx.input('messages').value, ctx.input('book').value, w.symbol, ctx.uses);
    const r = await runJob(ctx, 'impact', {
      session,
      cfg: { permanentHorizons: w.permanent_horizons_s, temporarySizes: w.temporary_sizes, fillDistancesTicks: w.fill_distances_ticks, fillHorizons: w.fill_horizons_s, acTauSeconds: w.ac_tau_seconds, ...(w.bootstrap_reps ? { reps: w.bootstrap_reps } : {}) },
    }, { to: 0.95 });
    ctx.log.info({ seconds: r.timing.seconds }, 'impact calibration computed');
    const report = await ctx.artifacts.putJson({ symbol: session.symbol, date: session.date, tick_usd: session.tick / 1e4, settings: w, ...r.value, ...r.extra }, 'impact.json');
    const impact = { symbol: session.symbol, date: session.date, ...r.value, report };
    const perm = [...impact.permanent].filter((p) => p.horizon_s <= 30).pop() ?? impact.permanent[0]!;
    return { impact, spread_bps: impact.spread_bps.value, permanent_bps_per_100_shares: perm.bps_per_100_shares.value, eta_usd_per_share: impact.temporary_book.eta_usd_per_share.value };
  },
});
