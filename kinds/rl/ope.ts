import { z } from 'zod';
import { StepError } from '../../lib/errors.ts';
import { artifactRefSchema, defineStepKind, type StepContext } from '../types.ts';
import { rlConfigWith, type DatasetMeta } from './dataset.ts';
import type { PolicyArtifact } from './train.ts';
import { ancestorOutputs, bookSources } from './upstream.ts';
import type { ArtifactRef } from '../../artifacts/store.ts';
import type { RlDataset } from '../../rl/dataset.ts';

const interval = z.object({ estimate: z.number(), lcb: z.number(), ucb: z.number() });

export const opeOutputs = z.object({
  accepted: z.boolean(),
  policy: z.enum(['learned', 'baseline']),
  algo: z.enum(['cql', 'iql', 'bc']),
  estimator: z.literal('doubly_robust'),
  /** DR estimate of the learned policy with its bootstrap interval (per-day return units). */
  dr: interval,
  /** DR point estimate of the baseline policy (always the baseline multiplier), same units. */
  baseline_value: z.number(),
  margin: z.number(),
  estimates: z.object({ fqe: interval, is: interval, wis: interval, dr: interval }),
  baseline_estimates: z.object({ fqe: interval, is: interval, wis: interval, dr: interval }),
  ci_level: z.number(),
  n_episodes: z.number().int(),
  horizon: z.number().int(),
  /** effective sample size of the learned policy's importance weights over whole episodes. */
  ess: z.number(),
  /** mean multiplier the learned greedy policy picks on evaluation states. */
  mean_multiplier_eval: z.number(),
  decision: z.string(),
  /** the learned policy's ONNX, only when accepted. */
  policy_onnx: artifactRefSchema.optional(),
  report: artifactRefSchema,
});

type Iv = { estimate: number; lcb: number; ucb: number; se: number };
const perDay = (iv: Iv, norm: number) => ({ estimate: iv.estimate / norm, lcb: iv.lcb / norm, ucb: iv.ucb / norm });

/**
 * Replays a deterministic policy in MarketEnv from the start state of every evaluation episode (same
 * start-state distribution and horizon as the OPE estimand) and returns the mean discounted return per
 * day. A simulator-side diagnostic (it assumes prices do not react to the scaled trades), not the gate.
 */
async function replayValues(ctx: StepContext, meta: DatasetMeta, ds: RlDataset, choose: Record<string, (s: Float64Array) => number>, gamma: number): Promise<Record<string, number> | null> {
  let src;
  try {
    src = bookSources(ctx, 'rl.ope');
  } catch {
    return null;
  }
  const { loadBooks } = await import('../../rl/book.ts');
  const { MarketEnv } = await import('../../rl/env.ts');
  const { books } = await loadBooks(src, meta.env, { maxPaths: meta.dataset.max_paths });
  const byPath = new Map(books.map((b) => [b.path, b]));
  const F = ds.featureNames.length;
  const out: Record<string, number> = {};
  for (const [name, fn] of Object.entries(choose)) {
    let sum = 0;
    let cnt = 0;
    let norm = 0;
    for (let i = 0; i < ds.n; i++) {
      if (ds.split[i] !== 1 || ds.step[i] !== 0) continue;
      const book = byPath.get(ds.path[i]!);
      if (!book) continue;
      let L = 0;
      while (i + L < ds.n && ds.episode[i + L] === ds.episode[i]) L++;
      const env = new MarketEnv(book, meta.env);
      const s0 = ds.state.subarray(i * F, (i + 1) * F);
      const prev = meta.actions.indexOf(s0[F - 1]!);
      let st = { t: ds.t[i]!, prevAction: prev, equity: 1 - s0[F - 2]!, peak: 1 };
      let g = 1;
      let v = 0;
      let nn = 0;
      for (let h = 0; h < L && st.t < env.length; h++) {
        const res = env.step(st, fn(env.observe(st)));
        v += g * res.reward;
        nn += g;
        g *= gamma;
        st = res.next;
      }
      sum += v;
      norm += nn;
      cnt++;
    }
    out[name] = cnt > 0 ? sum / norm : NaN;
  }
  return out;
}

export const rlOpe = defineStepKind({
  uses: 'rl.ope',
  version: '1',
  description:
    'Off-policy evaluation of the rl.train policy on the held-out period: FQE, per-decision IS / WIS and doubly robust with episode-bootstrap CIs; accepts the learned policy only if the DR lower bound beats the baseline policy value + margin, otherwise keeps the baseline',
  with: z.object({
    ...rlConfigWith,
    estimator: z.literal('doubly_robust').default('doubly_robust'),
    /** overrides ope.margin of the config (per-day return units). */
    margin: z.number().optional(),
  }),
  outputs: opeOutputs,
  configFiles: (w) => [w.config],
  async run(ctx, w) {
    const { loadRlConfig } = await import('../../rl/config.ts');
    const { readDatasetParquet } = await import('../../rl/dataset.ts');
    const { episodesFromDataset, deterministic, evaluatePolicy, sizingQFeatures } = await import('../../rl/ope/index.ts');
    const { mlpForward, argmax } = await import('../../rl/networks.ts');
    const cfg = loadRlConfig(ctx.projectRoot, w.config, w.overrides);
    const margin = w.margin ?? cfg.ope.margin;
    const tr = ancestorOutputs(ctx, 'rl.train');
    if (!tr) throw new StepError({ message: 'rl.ope: needs an rl.train step among its ancestors', type: 'RlInputError', nonRetryable: true });
    const pol = ctx.artifacts.readJson<PolicyArtifact>(tr.outputs.policy as ArtifactRef);
    const meta = ctx.artifacts.readJson<DatasetMeta>(tr.outputs.dataset_meta as ArtifactRef);
    const ds = await readDatasetParquet(ctx.artifacts.path(tr.outputs.dataset as ArtifactRef), meta);
    const episodes = episodesFromDataset(ds);
    if (episodes.length < 10) throw new StepError({ message: `rl.ope: only ${episodes.length} evaluation episodes; need at least 10 (lower dataset.horizon or raise eval_fraction)`, type: 'RlDataError', nonRetryable: true });
    const A = pol.actions.length;
    const chooseLearned = (s: Float64Array) => argmax(mlpForward(pol.network, s, 1), 0, A);
    const chooseBaseline = () => pol.baseline_action_index;
    const gamma = cfg.ope.gamma;
    let H = 0;
    for (const e of episodes) H = Math.max(H, e.actions.length);
    let norm = 0;
    for (let h = 0, g = 1; h < H; h++, g *= gamma) norm += g;
    const opts = (p0: number, p1: number) => ({
      gamma,
      ridge: cfg.ope.ridge,
      bootstrap: cfg.ope.bootstrap,
      ciLevel: cfg.ope.ci_level,
      seed: cfg.ope.seed,
      qFeatures: cfg.ope.fqe_features === 'sizing' ? sizingQFeatures(pol.actions, ds.featureNames.length - 1, ds.featureNames.length) : undefined,
      signal: ctx.signal,
      onProgress: (f: number) => ctx.progress({ fraction: p0 + (p1 - p0) * f, message: 'bootstrap' }),
    });
    ctx.progress({ fraction: 0.02, message: `evaluating the learned ${pol.algo} policy on ${episodes.length} episodes` });
    const learned = evaluatePolicy(episodes, deterministic(A, chooseLearned), A, opts(0.02, 0.45));
    ctx.progress({ fraction: 0.45, message: 'evaluating the baseline policy' });
    const baseline = evaluatePolicy(episodes, deterministic(A, chooseBaseline), A, opts(0.45, 0.85));
    ctx.progress({ fraction: 0.85, message: 'replaying both policies in MarketEnv' });
    const replay = await replayValues(ctx, meta, ds, { learned: chooseLearned, baseline: chooseBaseline }, gamma);

    const est = { fqe: perDay(learned.fqe, norm), is: perDay(learned.is, norm), wis: perDay(learned.wis, norm), dr: perDay(learned.dr, norm) };
    const best = { fqe: perDay(baseline.fqe, norm), is: perDay(baseline.is, norm), wis: perDay(baseline.wis, norm), dr: perDay(baseline.dr, norm) };
    const baselineValue = best.dr.estimate;
    const accepted = Number.isFinite(est.dr.lcb) && est.dr.lcb >= baselineValue + margin;
    let mMean = 0;
    let nEvalStates = 0;
    const counts = new Array<number>(A).fill(0);
    for (const e of episodes)
      for (const s of e.states) {
        const k = chooseLearned(s);
        counts[k]!++;
        mMean += pol.actions[k]!;
        nEvalStates++;
      }
    mMean /= Math.max(1, nEvalStates);
    const bp = (x: number) => `${(x * 1e4).toFixed(2)} bp/day`;
    const decision = accepted
      ? `accepted: learned ${pol.algo} policy DR lower bound ${bp(est.dr.lcb)} ≥ baseline ${bp(baselineValue)} + margin ${bp(margin)}`
      : `rejected, keeping the baseline: learned ${pol.algo} policy DR lower bound ${bp(est.dr.lcb)} < baseline ${bp(baselineValue)} + margin ${bp(margin)} (DR estimate ${bp(est.dr.estimate)}, ${Math.round(cfg.ope.ci_level * 100)}% CI [${bp(est.dr.lcb)}, ${bp(est.dr.ucb)}])`;
    ctx.log.info({ decision }, 'rl.ope decision');
    const report = await ctx.artifacts.putJson(
      {
        decision,
        accepted,
        algo: pol.algo,
        units: 'discounted reward per day: V_H / Σ_{h<H} γ^h, reward = net return − penalties, fraction of capital',
        gamma,
        horizon: H,
        ci_level: cfg.ope.ci_level,
        bootstrap: cfg.ope.bootstrap,
        margin,
        n_episodes: episodes.length,
        eval_period: meta.split,
        learned: { ...est, se: { fqe: learned.fqe.se / norm, is: learned.is.se / norm, wis: learned.wis.se / norm, dr: learned.dr.se / norm }, ess_by_step: learned.ess_by_step },
        baseline: { ...best, se: { fqe: baseline.fqe.se / norm, is: baseline.is.se / norm, wis: baseline.wis.se / norm, dr: baseline.dr.se / norm }, ess_by_step: baseline.ess_by_step },
        fqe_features: cfg.ope.fqe_features,
        ridge: cfg.ope.ridge,
        replay,
        learned_action_share_eval: Object.fromEntries(pol.actions.map((m, k) => [String(m), counts[k]! / Math.max(1, nEvalStates)])),
        behaviour_probs: meta.behaviour_probs,
        actions: pol.actions,
        dataset_diagnostics: meta.diagnostics,
      },
      'rl_ope_report.json',
    );
    ctx.progress({ fraction: 1, message: decision });
    return {
      accepted,
      policy: accepted ? ('learned' as const) : ('baseline' as const),
      algo: pol.algo,
      estimator: 'doubly_robust' as const,
      dr: est.dr,
      baseline_value: baselineValue,
      margin,
      estimates: est,
      baseline_estimates: best,
      ci_level: cfg.ope.ci_level,
      n_episodes: episodes.length,
      horizon: H,
      ess: learned.ess,
      mean_multiplier_eval: mMean,
      decision,
      policy_onnx: accepted ? (tr.outputs.policy_onnx as ArtifactRef) : undefined,
      report,
    };
  },
});
