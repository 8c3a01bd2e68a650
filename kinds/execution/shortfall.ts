import { z } from 'zod';
import { executionShortfall } from '../../contracts/execution.ts';
import { defineStepKind } from '../types.ts';
import { lobInputs, readLobSession, symbolField } from './common.ts';
import { runJob } from './run_job.ts';

const positive = z.number().positive();
const parent = {
  symbol: symbolField,
  shares: positive.default(1000).describe('parent order size, shares'),
  horizon_seconds: positive.default(300).describe('execution horizon T, seconds'),
};

const outputs = z.object({
  shortfall: executionShortfall.schema,
  best_strategy: z.string().describe('strategy with the lowest mean shortfall'),
  twap_mean_bps: z.number().nullable().describe('TWAP (market children) mean shortfall, bps'),
});

/** The strategy with the lowest mean shortfall and the TWAP mean, for the step's headline outputs. */
function headline(rows: Array<{ strategy: string; mean_bps: number | null }>): { best_strategy: string; twap_mean_bps: number | null } {
  const ok = rows.filter((r) => r.mean_bps !== null);
  const best = ok.reduce((a, b) => (b.mean_bps! < a.mean_bps! ? b : a), ok[0] ?? rows[0]!);
  return { best_strategy: best.strategy, twap_mean_bps: rows.find((r) => r.strategy === 'TWAP')?.mean_bps ?? null };
}

/**
 * `execution.benchmarks`: TWAP, VWAP (intraday volume profile) and Almgren–Chriss efficient-frontier
 * schedules x_j = X·sinh(κ(T − t_j))/sinh(κT) (Almgren & Chriss 2000; κT picks the risk aversion
 * λ) executed in the LOB replay as market or passive child orders, over parent orders starting every
 * `stride_seconds` (each as a buy and a sell). Implementation shortfall (Perold 1988) against the
 * arrival mid, mean with a 95% block-bootstrap interval and std per strategy, next to the AC model's
 * own E and √V from the parameters calibrated on the same session (execution/schedules/).
 */
export const executionBenchmarksKind = defineStepKind({
  uses: 'execution.benchmarks',
  version: '1',
  description: 'TWAP, VWAP and Almgren–Chriss schedules (a range of risk aversions) executed in the LOB replay: implementation shortfall mean (95% block-bootstrap CI) and std per strategy, with the AC model\'s predicted cost',
  with: z
    .object({
      ...parent,
      intervals: z.number().int().min(1).default(10).describe('child intervals N of each schedule'),
      stride_seconds: positive.default(20).describe('seconds between parent-order starts'),
      kappa_t: z.array(z.number().min(0)).min(1).default([0, 1, 3, 6]).describe('AC urgencies κT (0 = TWAP-like, larger = front-loaded)'),
      styles: z.array(z.enum(['market', 'passive'])).min(1).default(['market', 'passive']).describe('child order styles: market walks the book; passive joins the queue, the rest goes at market'),
    })
    .strict(),
  consumes: lobInputs,
  outputs,
  provides: { shortfall: executionShortfall },
  async run(ctx, w) {
    const session = await readLobSession(ctx.artifacts, ctx.input('messages').value, ctx.input('book').value, w.symbol, ctx.uses);
    const r = await runJob(ctx, 'schedules', { session, cfg: { shares: w.shares, horizonSeconds: w.horizon_seconds, intervals: w.intervals, strideSeconds: w.stride_seconds, kappaT: w.kappa_t, styles: w.styles } }, { to: 0.95 });
    ctx.log.info({ seconds: r.timing.seconds, episodes: r.episodes }, 'schedule benchmarks computed');
    const body = { study: 'schedules' as const, symbol: session.symbol, date: session.date, shares: w.shares, horizon_seconds: w.horizon_seconds, intervals: w.intervals, episodes: r.episodes, window: r.window, rows: r.rows, paired: [], criterion: null, almgren_chriss: r.almgren_chriss };
    const report = await ctx.artifacts.putJson({ ...body, settings: w }, 'schedule_benchmarks.json');
    return { shortfall: { ...body, report }, ...headline(r.rows) };
  },
});

/**
 * `execution.rl`: the RL executor (execution/rl/): state = spread, book imbalance, short-term
 * volatility, time and inventory remaining; actions = price offset in ticks × passive/aggressive;
 * reward = −implementation shortfall with a penalty (bps) on inventory left at the deadline. A
 * double DQN trains on episodes of the early part of the day plus synthetic sessions calibrated to
 * it (lob/synthetic.ts), then runs greedily on held-out later episodes against TWAP, TWAP passive,
 * VWAP and AC schedules in the same replay: shortfall table with block-bootstrap 95% intervals,
 * paired RL − benchmark differences and the design criterion RL ≤ TWAP. Seeded; deterministic.
 */
export const executionRlKind = defineStepKind({
  uses: 'execution.rl',
  version: '1',
  description: 'RL execution (double DQN over price offset × passive/aggressive) trained on the early part of the session and synthetic sessions, evaluated on held-out later episodes against TWAP and Almgren–Chriss: shortfall table with bootstrap CIs; criterion RL ≤ TWAP',
  with: z
    .object({
      ...parent,
      steps: z.number().int().min(2).default(10).describe('decisions per episode'),
      train_fraction: z.number().gt(0).lt(1).default(0.6).describe('share of the session (by time) for training and calibration; the rest is held out'),
      penalty_bps: z.number().min(0).default(25).describe('penalty on inventory left at the deadline, bps of the arrival mid'),
      synthetic_sessions: z.number().int().min(0).default(3).describe('synthetic sessions simulated from the order flow calibrated on the training part'),
      synthetic_weight: z.number().min(0).max(1).default(0.5).describe('share of training episodes drawn from the synthetic sessions'),
      eval_stride_seconds: positive.default(20).describe('seconds between held-out episode starts (each as a buy and a sell)'),
      ac_kappa_t: z.array(positive).default([1, 3, 6]).describe('AC urgencies κT of the benchmark schedules'),
      episodes: z.number().int().min(1).default(2000).describe('DQN training episodes'),
      eps_decay_episodes: z.number().int().min(1).optional().describe('episodes over which ε decays from 1 to its floor (default 70% of episodes: 1,400 of 2,000)'),
      update_every: z.number().int().min(1).default(2).describe('environment steps per gradient update'),
      warmup: z.number().int().min(1).default(500).describe('transitions in the replay buffer before learning starts'),
      hidden: z.array(z.number().int().min(1)).min(1).default([32, 32]).describe('hidden layer widths of the Q-network'),
      seed: z.number().int().default(20).describe('seed of the synthetic sessions and of the training'),
    })
    .strict(),
  consumes: lobInputs,
  outputs: outputs.extend({ criterion_holds: z.boolean().describe('RL mean shortfall ≤ TWAP on the held-out episodes') }),
  provides: { shortfall: executionShortfall },
  async run(ctx, w) {
    const session = await readLobSession(ctx.artifacts, ctx.input('messages').value, ctx.input('book').value, w.symbol, ctx.uses);
    const { DEFAULT_RL_EXECUTION } = await import('../../execution/rl/experiment.ts');
    const cfg = {
      trainFraction: w.train_fraction, shares: w.shares, horizonSeconds: w.horizon_seconds, steps: w.steps, penaltyBps: w.penalty_bps,
      syntheticSessions: w.synthetic_sessions, syntheticWeight: w.synthetic_weight, evalStrideSeconds: w.eval_stride_seconds, acKappaT: w.ac_kappa_t, seed: w.seed,
      dqn: { ...DEFAULT_RL_EXECUTION.dqn, episodes: w.episodes, epsDecayEpisodes: w.eps_decay_episodes ?? Math.max(1, Math.round(0.7 * w.episodes)), updateEvery: w.update_every, warmup: w.warmup, hidden: w.hidden },
    };
    const r = await runJob(ctx, 'rl_execution', { session, cfg }, { to: 0.95 });
    ctx.log.info(r.timing, 'RL execution trained and evaluated');
    const body = { study: 'rl' as const, symbol: session.symbol, date: session.date, shares: w.shares, horizon_seconds: w.horizon_seconds, intervals: w.steps, episodes: r.episodes, window: r.window, rows: r.rows, paired: r.paired, criterion: r.criterion, almgren_chriss: r.almgren_chriss };
    const report = await ctx.artifacts.putJson({ ...body, settings: w, ...r.full }, 'rl_execution.json');
    return { shortfall: { ...body, report }, ...headline(r.rows), criterion_holds: r.criterion.holds };
  },
});
