import { z } from 'zod';
import { rlDataset, rlPolicy, sizingPolicy } from '../../contracts/index.ts';
import { StepError } from '../../lib/errors.ts';
import type { RlConfig } from '../../rl/config.ts';
import type { RlDataset } from '../../rl/dataset.ts';
import type { OpeEpisode, OpeEstimates } from '../../rl/ope/index.ts';
import { argmax, mlpForward } from '../../rl/networks.ts';
import { defineStepKind, type StepContext } from '../types.ts';
import { rlConfigWith, type DatasetMeta } from './dataset.ts';
import { replayValues } from './ope_replay.ts';
import type { PolicyArtifact } from './train.ts';

const interval = z
  .object({ estimate: z.number().describe('point estimate'), lcb: z.number().describe('lower bound'), ucb: z.number().describe('upper bound') })
  .describe('estimate with its episode-bootstrap interval, discounted reward per bar');
const estimates = z.object({ fqe: interval, is: interval, wis: interval, dr: interval }).describe('FQE, per-decision IS, WIS and DR');

export const opeOutputs = z.object({
  sizing: sizingPolicy.schema,
  accepted: z.boolean().describe('the learned policy beat the baseline by the margin'),
  policy: z.enum(['learned', 'baseline']).describe('the policy kept'),
  algo: z.enum(['cql', 'iql', 'bc']).describe('algorithm of the learned policy'),
  estimator: z.literal('doubly_robust').describe('estimator the decision uses'),
  dr: interval,
  difference: interval.describe('DR(π) − V(baseline) on the same date-block bootstrap resamples, discounted reward per bar: the decision statistic'),
  baseline_value: z.number().describe("the baseline policy's exact value (MarketEnv replay from every evaluation episode's start state), discounted reward per bar"),
  margin: z.number().describe('economic margin (> 0) the lower bound of the difference must clear, per-bar return units'),
  estimates,
  baseline_estimates: estimates,
  ci_level: z.number().describe('two-sided interval level'),
  n_episodes: z.number().int().describe('evaluation episodes'),
  horizon: z.number().int().describe('longest episode, bars'),
  ess: z.number().describe("effective sample size of the learned policy's importance weights over whole episodes"),
  mean_multiplier_eval: z.number().describe('mean multiplier the learned greedy policy picks on evaluation states'),
  decision: z.string().describe('the decision in words'),
});

type Iv = { estimate: number; lcb: number; ucb: number; se: number };
const perDay = (iv: Iv, norm: number) => ({ estimate: iv.estimate / norm, lcb: iv.lcb / norm, ucb: iv.ucb / norm });
const perBar4 = (e: OpeEstimates, norm: number) => ({ fqe: perDay(e.fqe, norm), is: perDay(e.is, norm), wis: perDay(e.wis, norm), dr: perDay(e.dr, norm) });
const se4 = (e: OpeEstimates, norm: number) => ({ fqe: e.fqe.se / norm, is: e.is.se / norm, wis: e.wis.se / norm, dr: e.dr.se / norm });

/** Discount normaliser Σ_{h<H} γ^h over the longest episode H (values become per-bar returns). */
function discountNorm(episodes: OpeEpisode[], gamma: number): { H: number; norm: number } {
  let H = 0;
  for (const e of episodes) H = Math.max(H, e.actions.length);
  let norm = 0;
  for (let h = 0, g = 1; h < H; h++, g *= gamma) norm += g;
  return { H, norm };
}

/**
 * Date blocks of the evaluation episodes (rl/ope `dateGroups`): each episode's start date, in the
 * order of `episodesFromDataset`, positioned on the dataset's own trading dates.
 */
async function episodeDateGroups(ds: RlDataset, blockDays: number) {
  const { dateGroups } = await import('../../rl/ope/index.ts');
  const starts: string[] = [];
  for (let i = 0; i < ds.n; i++) if (ds.split[i] === 1 && ds.step[i] === 0) starts.push(ds.date[i]!);
  const cal = new Map([...new Set(ds.date)].sort().map((d, k) => [d, k]));
  return dateGroups(starts, blockDays, (d) => cal.get(d)!);
}

/**
 * Both policies' OPE estimates (learned, then the baseline bucket) with date-block bootstrap intervals;
 * the learned policy's also with the paired difference DR(π) − V(baseline) against `baselineValues`.
 * The baseline's bootstrap runs in a worker thread (rl/ope/worker.ts) while this thread runs the
 * learned policy's: the same estimates as one after the other, on two cores.
 */
async function estimateBoth(ctx: StepContext, cfg: RlConfig, pol: PolicyArtifact, ds: RlDataset, episodes: OpeEpisode[], chooseLearned: (s: Float64Array) => number, baselineValues: Float64Array) {
  const { deterministic, evaluatePolicy, sizingQFeatures, tabulatePolicy } = await import('../../rl/ope/index.ts');
  const { evaluateInWorker } = await import('../../rl/ope/worker.ts');
  const groups = await episodeDateGroups(ds, cfg.ope.block_days);
  if (groups.of.length !== episodes.length) throw new StepError({ message: `rl.ope: ${groups.of.length} episode start dates for ${episodes.length} episodes`, type: 'RlDataError', nonRetryable: true });
  const A = pol.actions.length;
  const F = ds.featureNames.length;
  const sizingQ = cfg.ope.fqe_features === 'sizing' ? { actions: pol.actions, prevIndex: F - 1, stateDim: F } : null;
  const options = { gamma: cfg.ope.gamma, ridge: cfg.ope.ridge, bootstrap: cfg.ope.bootstrap, ciLevel: cfg.ope.ci_level, seed: cfg.ope.seed, groups };
  const fractions = { learned: 0, baseline: 0 };
  const progress = (which: keyof typeof fractions, f: number) => {
    fractions[which] = f;
    ctx.progress({ fraction: 0.02 + 0.83 * Math.min(fractions.learned, fractions.baseline), message: `bootstrap: learned ${Math.round(fractions.learned * 100)}%, baseline ${Math.round(fractions.baseline * 100)}%` });
  };
  ctx.progress({ fraction: 0.02, message: `evaluating the learned ${pol.algo} policy and the baseline on ${episodes.length} episodes` });
  const baselineJob = { table: tabulatePolicy(episodes, deterministic(A, () => pol.baseline_action_index), A), options, sizingQ };
  // the worker stops with the step (ctx.signal) or when this thread's evaluation fails
  const local = new AbortController();
  const baselineRun = evaluateInWorker(baselineJob, { signal: AbortSignal.any([ctx.signal, local.signal]), onProgress: (f) => progress('baseline', f) });
  // a rejection is awaited below; until then it must not count as unhandled
  baselineRun.catch(() => undefined);
  let learned;
  try {
    learned = evaluatePolicy(episodes, deterministic(A, chooseLearned), A, {
      ...options,
      qFeatures: sizingQ ? sizingQFeatures(sizingQ.actions, sizingQ.prevIndex, sizingQ.stateDim) : undefined,
      baselineValues,
      signal: ctx.signal,
      onProgress: (f) => progress('learned', f),
    });
  } catch (e) {
    local.abort();
    throw e;
  }
  let baseline;
  try {
    baseline = await baselineRun;
  } catch (e) {
    throw new StepError({ message: `rl.ope: the baseline policy's evaluation failed: ${(e as Error).message}`, cause: e });
  }
  return { learned, baseline };
}

/** Share of evaluation states on which the greedy learned policy picks each action, and its mean multiplier. */
function evalActions(episodes: OpeEpisode[], pol: PolicyArtifact, chooseLearned: (s: Float64Array) => number) {
  let mMean = 0;
  let nEvalStates = 0;
  const counts = new Array<number>(pol.actions.length).fill(0);
  for (const e of episodes)
    for (const s of e.states) {
      const k = chooseLearned(s);
      counts[k]!++;
      mMean += pol.actions[k]!;
      nEvalStates++;
    }
  mMean /= Math.max(1, nEvalStates);
  return { mMean, share: Object.fromEntries(pol.actions.map((m, k) => [String(m), counts[k]! / Math.max(1, nEvalStates)])) };
}

/** The accept/reject sentence of the decision. */
function decisionText(accepted: boolean, algo: string, diff: { estimate: number; lcb: number; ucb: number }, baselineValue: number, margin: number, ciLevel: number): string {
  const bp = (x: number) => `${(x * 1e4).toFixed(2)} bp/day`;
  const ci = `${Math.round(ciLevel * 100)}% date-block CI [${bp(diff.lcb)}, ${bp(diff.ucb)}], estimate ${bp(diff.estimate)}; baseline exact replay ${bp(baselineValue)}`;
  return accepted
    ? `accepted: learned ${algo} policy DR − baseline lower bound ${bp(diff.lcb)} ≥ margin ${bp(margin)} (${ci})`
    : `rejected, keeping the baseline: learned ${algo} policy DR − baseline lower bound ${bp(diff.lcb)} < margin ${bp(margin)} (${ci})`;
}

/**
 * `rl.ope`: off-policy evaluation of the bound policy on the dataset's held-out period; decides the
 * sizing policy: the learned one when the lower bound of the paired difference DR(π) − V(baseline)
 * (Jiang & Li 2016 DR; V(baseline) replayed exactly; date-block bootstrap, Politis & Romano 1994)
 * clears the positive economic margin, else the baseline.
 */
export const rlOpe = defineStepKind({
  uses: 'rl.ope',
  version: '3',
  description:
    'Off-policy evaluation of the rl.train policy on the held-out period: FQE, per-decision IS / WIS and doubly robust with date-block bootstrap CIs (all paths of a date together); accepts the learned policy only if the lower bound of DR(π) − V(baseline), V(baseline) the exact replay value, clears a positive margin, otherwise keeps the baseline',
  with: z
    .object({
      ...rlConfigWith,
      estimator: z.literal('doubly_robust').default('doubly_robust').describe('estimator the decision uses'),
      margin: z.number().positive().optional().describe('overrides ope.margin of the config (per-bar return units, > 0)'),
    })
    .strict(),
  consumes: {
    policy: { contract: rlPolicy, description: 'the trained policy to evaluate' },
    dataset: { contract: rlDataset, description: 'the logged behaviour dataset (its evaluation episodes)' },
  },
  provides: { sizing: sizingPolicy },
  outputs: opeOutputs,
  configFiles: (w) => [w.config],
  async run(ctx, w) {
    const { loadRlConfig } = await import('../../rl/config.ts');
    const { readDatasetParquet } = await import('../../rl/dataset.ts');
    const { episodesFromDataset } = await import('../../rl/ope/index.ts');
    const cfg = loadRlConfig(ctx.projectRoot, w.config, w.overrides);
    const margin = w.margin ?? cfg.ope.margin;
    const trained = ctx.input('policy').value;
    const input = ctx.input('dataset').value;
    const pol = ctx.artifacts.readJson<PolicyArtifact>(trained.policy);
    const meta = ctx.artifacts.readJson<DatasetMeta>(input.meta);
    const ds = await readDatasetParquet(ctx.artifacts.path(input.dataset), meta);
    const episodes = episodesFromDataset(ds);
    if (episodes.length < 10) throw new StepError({ message: `rl.ope: only ${episodes.length} evaluation episodes; need at least 10 (lower dataset.horizon or raise eval_fraction)`, type: 'RlDataError', nonRetryable: true });
    const A = pol.actions.length;
    const chooseLearned = (s: Float64Array) => argmax(mlpForward(pol.network, s, 1), 0, A);
    const gamma = cfg.ope.gamma;
    const { H, norm } = discountNorm(episodes, gamma);
    ctx.progress({ fraction: 0.01, message: 'replaying both policies in MarketEnv' });
    const replay = await replayValues(ctx, input.books, meta, ds, { learned: chooseLearned, baseline: () => pol.baseline_action_index }, gamma);
    const { learned, baseline } = await estimateBoth(ctx, cfg, pol, ds, episodes, chooseLearned, replay.baseline!.episodes);
    const est = perBar4(learned, norm);
    const best = perBar4(baseline, norm);
    const diff = perDay(learned.difference!, norm);
    const baselineValue = learned.baseline_exact! / norm;
    const accepted = Number.isFinite(diff.lcb) && diff.lcb >= margin;
    const acts = evalActions(episodes, pol, chooseLearned);
    const decision = decisionText(accepted, pol.algo, diff, baselineValue, margin, cfg.ope.ci_level);
    ctx.log.info({ decision }, 'rl.ope decision');
    const report = await ctx.artifacts.putJson(
      {
        decision,
        accepted,
        algo: pol.algo,
        estimator: w.estimator,
        units: 'discounted reward per bar: V_H / Σ_{h<H} γ^h, reward = net return − penalties, fraction of capital',
        gamma,
        horizon: H,
        ci_level: cfg.ope.ci_level,
        bootstrap: cfg.ope.bootstrap,
        margin,
        rule: 'accept iff the lower bound of DR(π) − V(baseline) ≥ margin; V(baseline) = exact MarketEnv replay on the same episodes; intervals: stationary date-block bootstrap (Politis & Romano 1994), every path of a date together',
        block_days: cfg.ope.block_days,
        difference: { ...diff, se: learned.difference!.se / norm },
        baseline_exact: baselineValue,
        n_episodes: episodes.length,
        eval_period: meta.split,
        learned: { ...est, se: se4(learned, norm), ess_by_step: learned.ess_by_step },
        baseline: { ...best, se: se4(baseline, norm), ess_by_step: baseline.ess_by_step },
        fqe_features: cfg.ope.fqe_features,
        ridge: cfg.ope.ridge,
        replay: { learned: replay.learned!.perBar, baseline: replay.baseline!.perBar },
        learned_action_share_eval: acts.share,
        behaviour_probs: meta.behaviour_probs,
        actions: pol.actions,
        env: meta.env,
        dataset_diagnostics: meta.diagnostics,
      },
      'rl_ope_report.json',
    );
    ctx.progress({ fraction: 1, message: decision });
    const kept = accepted ? ('learned' as const) : ('baseline' as const);
    return {
      sizing: { accepted, policy: kept, onnx: accepted ? trained.onnx : null, decision, report, estimator: w.estimator, estimate: est.dr, baseline_value: baselineValue, margin, env: input.meta },
      accepted,
      policy: kept,
      algo: pol.algo,
      estimator: w.estimator,
      dr: est.dr,
      difference: diff,
      baseline_value: baselineValue,
      margin,
      estimates: est,
      baseline_estimates: best,
      ci_level: cfg.ope.ci_level,
      n_episodes: episodes.length,
      horizon: H,
      ess: learned.ess,
      mean_multiplier_eval: acts.mMean,
      decision,
    };
  },
});
