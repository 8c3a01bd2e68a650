// Offline-RL benchmark: builds upstream stand-ins (stack.oof / portfolio.build / backtest.cpcv_paths)
// from the full real S&P 500 set with a 20-day momentum score (test/rl/fixture.ts), then runs
// rl.dataset → rl.train (IQL, then CQL) → rl.ope with the default configs/rl.yml, and prints one JSON
// object: wall times, training steps/s at the default batch size and network, OPE time, peak RSS,
// and the OPE decision. Run: nice npx tsx bench/rl.ts [paths=5] [names-per-side=25]
import { readdirSync } from 'node:fs';
import os from 'node:os';
import { getStepKind } from '../kinds/registry.ts';
import type { StepOutputs } from '../kinds/types.ts';
import { loadRlConfig } from '../rl/config.ts';
import { PROJECT_ROOT } from '../lib/paths.ts';
import { makeTestContext, runKind, type TestUpstream } from '../test/support/context.ts';
import { SP500_DIR } from '../test/support/sp500.ts';
import { buildRlUpstream } from '../test/rl/fixture.ts';

const paths = Number(process.argv[2] ?? 5);
const names = Number(process.argv[3] ?? 25);
const kind = getStepKind;
const symbols = readdirSync(SP500_DIR())
  .filter((f) => f.endsWith('_data.csv'))
  .map((f) => f.replace(/_data\.csv$/, ''))
  .sort();
const cfg = loadRlConfig(PROJECT_ROOT);
const t0 = performance.now();
const up = await buildRlUpstream(undefined, { symbols, from: '2013-02-08', to: '2018-02-07', paths, names });
const upstreamS = (performance.now() - t0) / 1000;
/** Runs `uses` downstream of the fixture chain, with the given rl.dataset (`ds`) and rl.train (`rl`) outputs upstream. */
const time = async (uses: string, w: unknown, extra: { ds?: StepOutputs; rl?: StepOutputs } = {}) => {
  const t = performance.now();
  const c0 = process.cpuUsage();
  const upstream: Record<string, TestUpstream> = { ...up.upstream };
  if (extra.ds) upstream.ds = { uses: 'rl.dataset', outputs: extra.ds, needs: ['backtest'] };
  if (extra.rl) upstream.rl = { uses: 'rl.train', outputs: extra.rl, needs: ['ds'] };
  const out = await runKind(kind(uses), w, makeTestContext({ store: up.store, kind: kind(uses), upstream }));
  const c = process.cpuUsage(c0);
  return { out, s: (performance.now() - t) / 1000, cpu: (c.user + c.system) / 1e6 };
};
const ds = await time('rl.dataset', {});
const iql = await time('rl.train', { algo: 'iql' }, { ds: ds.out });
const cql = await time('rl.train', { algo: 'cql' }, { ds: ds.out });
const ope = await time('rl.ope', {}, { ds: ds.out, rl: iql.out });
const opeCql = await time('rl.ope', {}, { ds: ds.out, rl: cql.out });
const tr = (r: { out: StepOutputs; s: number; cpu: number }) => ({
  cpu_s: +r.cpu.toFixed(2),
  steps: r.out.steps,
  train_seconds: +(r.out.train_seconds as number).toFixed(2),
  steps_per_s: +((r.out.steps as number) / (r.out.train_seconds as number)).toFixed(1),
  step_wall_s: +r.s.toFixed(2),
  mean_multiplier_train: +(r.out.mean_multiplier_train as number).toFixed(3),
});
const opeSummary = (r: { out: StepOutputs; s: number; cpu: number }) => ({
  cpu_s: +r.cpu.toFixed(2),
  replay_per_day: (up.store.readJson((r.out.sizing as { report: never }).report) as { replay: unknown }).replay,
  ess_by_step: (up.store.readJson((r.out.sizing as { report: never }).report) as { learned: { ess_by_step: number[] } }).learned.ess_by_step.map((x) => +x.toFixed(1)),
  baseline_estimates: r.out.baseline_estimates,
  seconds: +r.s.toFixed(2),
  accepted: r.out.accepted,
  decision: r.out.decision,
  dr: r.out.dr,
  baseline_value: r.out.baseline_value,
  estimates: r.out.estimates,
  ess: r.out.ess,
  mean_multiplier_eval: r.out.mean_multiplier_eval,
});
console.log(
  JSON.stringify(
    {
      bench: 'rl',
      machine: { cpus: os.cpus().length, loadavg_1m: +os.loadavg()[0]!.toFixed(2), node: process.version },
      data: { symbols: symbols.length, paths, names_per_side: names, upstream_build_s: +upstreamS.toFixed(2) },
      config: { hidden: cfg.train.hidden, batch_size: cfg.train.batch_size, steps: cfg.train.steps, bootstrap: cfg.ope.bootstrap, horizon: cfg.dataset.horizon },
      dataset: { seconds: +ds.s.toFixed(2), cpu_s: +ds.cpu.toFixed(2), n_train: ds.out.n_train, n_eval: ds.out.n_eval, n_episodes: ds.out.n_episodes, eval: [ds.out.eval_start, ds.out.eval_end], cost_source: ds.out.cost_source },
      train: { iql: tr(iql), cql: tr(cql) },
      ope: { iql: opeSummary(ope), cql: opeSummary(opeCql) },
      default_chain_seconds: +(ds.s + iql.s + ope.s).toFixed(2),
      default_chain_cpu_s: +(ds.cpu + iql.cpu + ope.cpu).toFixed(2),
      peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    },
    null,
    1,
  ),
);
