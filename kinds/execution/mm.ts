import { z } from 'zod';
import { barsIntraday } from '../../contracts/market.ts';
import { mmCalibration, mmStudy } from '../../contracts/execution.ts';
import { canonicalJson } from '../../lib/canonical.ts';
import { InputError } from '../../lib/errors.ts';
import type { MmStudyConfig } from '../../marketmaking/experiment.ts';
import { defineStepKind, type StepContext } from '../types.ts';
import { lobInputs, readBars, readLobSession } from './common.ts';
import { est, splitMmRows } from './convert.ts';
import type { MmInput } from './jobs.ts';
import { runJob } from './run_job.ts';

const positive = z.number().positive();

/** The venue settings a calibration records and mm.rl reuses (marketmaking/experiment.ts LobMmSettings / BarsMmSettings). */
const storedSettings = z.object({
  q_max: z.number().int().describe('inventory bound, lots'),
  seed: z.number().int().describe('seed of the arrival-model episodes'),
  lob: z.object({ trainFraction: z.number().describe('training share'), episodeSeconds: z.number().describe('episode length, s'), stepSeconds: z.number().describe('quote step, s'), lotShares: z.number().describe('shares per lot'), arrivalEvalEpisodes: z.number().int().describe('arrival-model evaluation episodes'), replayStrideSeconds: z.number().describe('replay episode stride, s'), gammas: z.array(z.number()).describe('γ grid') }).optional().describe('LOB settings'),
  bars: z.object({ testFrom: z.number().describe('first test bar, epoch s'), episodeHours: z.number().describe('episode length, hours'), lotUsd: z.number().describe('USD per lot'), gammas: z.array(z.number()).describe('γ grid') }).optional().describe('bars settings'),
});

const marketInputs = {
  messages: { ...lobInputs.messages, optional: true },
  book: { ...lobInputs.book, optional: true },
  bars: { contract: barsIntraday, optional: true, description: 'hourly klines (ingest.klines), for source: bars' },
};

type MarketCtx = StepContext<typeof marketInputs>;

/** The job input for one venue: the market data bound upstream and the study settings. */
async function marketInput(ctx: MarketCtx, source: 'lob' | 'bars', symbol: string, study: MmStudyConfig, settings: z.output<typeof storedSettings>): Promise<MmInput> {
  if (source === 'lob') {
    const m = ctx.maybeInput('messages');
    const b = ctx.maybeInput('book');
    if (!m || !b || !settings.lob) throw new InputError({ message: `${ctx.uses}: source lob needs orderbook.messages and orderbook.snapshots upstream (an ingest.lob step in needs)` });
    return { source, session: await readLobSession(ctx.artifacts, m.value, b.value, symbol, ctx.uses), study, settings: settings.lob };
  }
  const bars = ctx.maybeInput('bars');
  if (!bars || !settings.bars) throw new InputError({ message: `${ctx.uses}: source bars needs bars.intraday upstream (an ingest.klines step in needs)` });
  return { source, bars: await readBars(ctx.artifacts.path(bars.value), symbol, ctx.uses), study, settings: settings.bars };
}

/**
 * `mm.avellaneda_stoikov`: calibrates the A-S inputs (Avellaneda & Stoikov 2008) σ, A, k of
 * λ(δ) = A·e^(−kδ) on the training part of a LOB session (aggressor orders reaching depth δ) or of
 * hourly bars (touch probabilities of the bar range; the approximations are listed), picks the risk
 * aversion γ by the A-S Sharpe on training episodes, and evaluates the A-S quotes — reservation
 * price r = s − qγσ²(T−t), total spread γσ²(T−t) + (2/γ)ln(1 + γ/k) — on the held-out evaluations
 * (arrival model with fresh seeds and the later replay; or the later years of bars).
 */
export const mmAvellanedaStoikovKind = defineStepKind({
  uses: 'mm.avellaneda_stoikov',
  version: '1',
  description: 'Avellaneda–Stoikov market making: σ, A, k calibrated from LOB arrivals or hourly bars (with 95% intervals), γ chosen on training episodes, A-S quotes evaluated on held-out data (PnL, Sharpe, inventory, fill rate, spread captured)',
  with: z
    .object({
      source: z.enum(['lob', 'bars']).describe('lob: a LOBSTER session (needs ingest.lob); bars: hourly klines (needs ingest.klines)'),
      symbol: z.string().min(1).describe('instrument, e.g. GOOG or BTCUSDT'),
      q_max: z.number().int().min(1).default(5).describe('inventory limit, lots: no bid at q ≥ q_max, no ask at q ≤ −q_max (the fills of one quote step can overshoot it)'),
      seed: z.number().int().default(41).describe('seed of the arrival-model episodes'),
      gammas: z.array(positive).min(1).optional().describe('risk aversions A-S chooses from (default: lob 0.001…0.1 per USD·lot, bars 0.003…30 per log-price·lot)'),
      train_fraction: z.number().gt(0).lt(1).default(0.6).describe('lob: training share of the session by time'),
      episode_seconds: positive.default(300).describe('lob: episode length, seconds'),
      step_seconds: positive.default(5).describe('lob: quote update interval, seconds'),
      lot_shares: positive.default(100).describe('lob: shares per lot'),
      arrival_eval_episodes: z.number().int().min(1).default(200).describe('lob: held-out arrival-model episodes'),
      replay_stride_seconds: positive.default(30).describe('lob: seconds between replay episode starts'),
      test_from: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).default('2020-01-01').describe('bars: first date (UTC) of the held-out period'),
      episode_hours: z.number().int().min(1).default(168).describe('bars: episode length, hours'),
      lot_usd: positive.default(10_000).describe('bars: USD per lot'),
    })
    .strict(),
  consumes: marketInputs,
  outputs: z.object({
    calibration: mmCalibration.schema,
    gamma: z.number().describe('chosen risk aversion'),
    as_sharpe: z.array(z.number()).describe('A-S annualised Sharpe on each held-out evaluation'),
  }),
  provides: { calibration: mmCalibration },
  async run(ctx, w) {
    const { DEFAULT_BARS_MM, DEFAULT_LOB_MM, DEFAULT_MM_STUDY } = await import('../../marketmaking/experiment.ts');
    const settings: z.output<typeof storedSettings> = w.source === 'lob'
      ? { q_max: w.q_max, seed: w.seed, lob: { trainFraction: w.train_fraction, episodeSeconds: w.episode_seconds, stepSeconds: w.step_seconds, lotShares: w.lot_shares, arrivalEvalEpisodes: w.arrival_eval_episodes, replayStrideSeconds: w.replay_stride_seconds, gammas: w.gammas ?? DEFAULT_LOB_MM.gammas } }
      : { q_max: w.q_max, seed: w.seed, bars: { testFrom: Date.parse(`${w.test_from}T00:00:00Z`) / 1000, episodeHours: w.episode_hours, lotUsd: w.lot_usd, gammas: w.gammas ?? DEFAULT_BARS_MM.gammas } };
    const study: MmStudyConfig = { ...DEFAULT_MM_STUDY, qMax: w.q_max, seed: w.seed, rlSeeds: [] };
    const input = await marketInput(ctx, w.source, w.symbol, study, settings);
    const r = await runJob(ctx, 'mm', input, { to: 0.95 });
    ctx.log.info(r.timing, 'A-S calibrated and evaluated');
    const c = r.runs[0]!;
    const { as } = splitMmRows(c, []);
    const cal = c.calibration;
    const calibration = {
      source: w.source, venue: c.venue, symbol: w.symbol, gamma: c.gamma, units: cal.units,
      sigma: est(cal.sigma), A: est(cal.A), k: est(cal.k), points: cal.points, approximations: cal.approximations,
      gamma_selection: c.gammaSelection.map((g) => ({ gamma: g.gamma, train_sharpe: g.trainSharpe })), settings, rows: as,
    };
    return { calibration, gamma: c.gamma, as_sharpe: as.map((x) => x.sharpe) };
  },
});

/** Two row sets are equal value for value (key order aside): the same deterministic computation gives the same bits. */
function sameRows(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/**
 * `mm.rl`: the RL market maker warm-started from A-S (marketmaking/rl_mm.ts): the Q-network is
 * first regressed onto the A-S returns-to-go (A-S action favoured by `margin`), then trained by
 * double DQN with small ε around it, one market maker per seed; reward and base quotes use the
 * γ of the upstream calibration. Every seed is evaluated greedily on the same held-out evaluations
 * as A-S, side by side; criterion: mean RL Sharpe over the seeds ≥ A-S Sharpe on every evaluation.
 * The A-S rows it recomputes must equal the upstream calibration's (else InputError).
 */
export const mmRlKind = defineStepKind({
  uses: 'mm.rl',
  version: '1',
  description: 'RL market maker warm-started from Avellaneda–Stoikov (double DQN, one per seed) on the venue and settings of the upstream A-S calibration; A-S vs RL side by side on held-out evaluations; criterion RL Sharpe ≥ A-S',
  with: z
    .object({
      episodes: z.number().int().min(1).default(400).describe('DQN training episodes per seed'),
      eps_start: z.number().min(0).max(1).default(0.2).describe('initial exploration ε (small: the warm start is A-S)'),
      eps_end: z.number().min(0).max(1).default(0.02).describe('final ε'),
      eps_decay_episodes: z.number().int().min(1).optional().describe('episodes over which ε decays (default 75% of episodes: 300 of 400)'),
      update_every: z.number().int().min(1).default(4).describe('environment steps per gradient update'),
      warmup: z.number().int().min(1).default(1000).describe('transitions before learning starts'),
      lr: positive.default(5e-4).describe('Adam learning rate'),
      hidden: z.array(z.number().int().min(1)).min(1).default([32, 32]).describe('hidden layer widths'),
      warm_episodes: z.number().int().min(1).default(60).describe('A-S episodes of the warm start'),
      warm_epochs: z.number().int().min(1).default(3).describe('passes of the warm-start regression'),
      margin: z.number().min(0).default(2).describe('Q margin of the A-S action in the warm start, currency'),
      first_seed: z.number().int().default(31).describe('first training seed'),
      seeds: z.number().int().min(1).default(3).describe('training seeds (first_seed, first_seed + 1, …), each a separate market maker'),
    })
    .strict(),
  consumes: { calibration: { contract: mmCalibration, description: 'the A-S calibration, γ and venue settings to train against' }, ...marketInputs },
  outputs: z.object({
    study: mmStudy.schema,
    criterion_holds: z.boolean().describe('mean RL Sharpe ≥ A-S Sharpe on every held-out evaluation'),
  }),
  provides: { study: mmStudy },
  async run(ctx, w) {
    const cal = ctx.input('calibration').value;
    const parsed = storedSettings.safeParse(cal.settings);
    if (!parsed.success) throw new InputError({ message: `mm.rl: the upstream calibration's settings are not those of mm.avellaneda_stoikov@1: ${parsed.error.issues[0]?.message}` });
    const { DEFAULT_DQN } = await import('../../execution/rl/dqn.ts');
    const seeds = Array.from({ length: w.seeds }, (_, i) => w.first_seed + i);
    const rl = { dqn: { ...DEFAULT_DQN, episodes: w.episodes, epsStart: w.eps_start, epsEnd: w.eps_end, epsDecayEpisodes: w.eps_decay_episodes ?? Math.max(1, Math.round(0.75 * w.episodes)), updateEvery: w.update_every, warmup: w.warmup, lr: w.lr, hidden: w.hidden, seed: 0 }, warmEpisodes: w.warm_episodes, warmEpochs: w.warm_epochs, margin: w.margin };
    const input = await marketInput(ctx, cal.source, cal.symbol, { qMax: parsed.data.q_max, seed: parsed.data.seed, rl, rlSeeds: seeds }, parsed.data);
    const r = await runJob(ctx, 'mm', input, { to: 0.95 });
    ctx.log.info(r.timing, 'RL market makers trained and evaluated');
    const rows: Array<z.output<typeof mmStudy.schema>['rows'][number]> = [];
    const training: z.output<typeof mmStudy.schema>['training'] = [];
    r.runs.forEach((c, i) => {
      const split = splitMmRows(c, [seeds[i]!]);
      if (c.gamma !== cal.gamma || !sameRows(split.as, cal.rows)) {
        throw new InputError({ message: `mm.rl: recomputing A-S on ${c.venue} gives γ ${c.gamma} and Sharpe ${split.as.map((x) => x.sharpe.toFixed(4)).join('/')}, the upstream calibration γ ${cal.gamma} and ${cal.rows.map((x) => x.sharpe.toFixed(4)).join('/')}: bind the calibration of the same data (or re-run it after a code change)` });
      }
      if (i === 0) rows.push(...split.as);
      rows.push(...split.rl.map(({ seed: _s, ...x }) => x));
      const t = c.training[0]!;
      training.push({ seed: t.seed, episodes: t.episodes, env_steps: t.envSteps, updates: t.updates, warm_states: t.warmStates });
    });
    const evaluations = cal.rows.map((x) => x.evaluation);
    const summary = evaluations.map((evaluation, e) => {
      const rlSharpes = rows.filter((x) => x.policy !== 'A-S' && x.evaluation === evaluation).map((x) => x.sharpe);
      return { evaluation, as_sharpe: cal.rows[e]!.sharpe, rl_mean_sharpe: rlSharpes.reduce((a, v) => a + v, 0) / rlSharpes.length, rl_sharpes: rlSharpes };
    });
    const holds = summary.every((s) => s.rl_mean_sharpe >= s.as_sharpe);
    const criterion = {
      rule: 'mean RL annualised Sharpe over the training seeds ≥ A-S annualised Sharpe on every held-out evaluation',
      holds,
      detail: summary.map((s) => `${s.evaluation}: RL ${s.rl_mean_sharpe.toFixed(2)} (seeds ${s.rl_sharpes.map((v) => v.toFixed(2)).join(', ')}) vs A-S ${s.as_sharpe.toFixed(2)}`).join('; '),
    };
    const body = { source: cal.source, venue: cal.venue, symbol: cal.symbol, gamma: cal.gamma, rows, summary, criterion, training };
    const report = await ctx.artifacts.putJson({ ...body, settings: { ...parsed.data, rl: w }, calibration: { sigma: cal.sigma, A: cal.A, k: cal.k, units: cal.units } }, `mm_${cal.symbol}_${cal.source}.json`);
    return { study: { ...body, report }, criterion_holds: holds };
  },
});
