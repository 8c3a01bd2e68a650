import type { DuckDBConnection } from '@duckdb/node-api';
import type { StepContext } from '../types.ts';
import type { ArtifactRef } from '../../artifacts/store.ts';
import { UserError } from '../../lib/errors.ts';
import type { PricePanel } from '../../backtest/panel.ts';
import type { PortfolioConfig } from '../../portfolio/config.ts';
import { buildWeights } from '../../portfolio/construct.ts';
import type { CostConfig, RiskInputs } from '../../execution/cost_models.ts';
import { loadScores } from '../../backtest/io.ts';
import { ancestorsOf, refOf } from './common.ts';

/** Where the signal of a backtest comes from. */
export interface SignalSource {
  kind: 'portfolio.build' | 'stack.oof' | 'fit.cpcv';
  step_id: string;
}

/** Dense per-path scores of a stack.oof (score; oof + oof_walk_forward) or fit.cpcv (pred) upstream. */
export async function loadSignal(con: DuckDBConnection, ctx: StepContext, src: { id: string; uses: string }, panel: PricePanel): Promise<{ paths: Map<number, Float64Array>; dropped: number }> {
  const step = ctx.ancestors[src.id]!;
  const col = src.uses === 'stack.oof' ? 'score' : 'pred';
  const out = new Map<number, Float64Array>();
  let dropped = 0;
  for (const key of ['oof', 'oof_walk_forward']) {
    if (!step.outputs[key]) {
      if (key === 'oof') throw new UserError(`upstream ${src.id} (${src.uses}) has no "oof" output`);
      continue;
    }
    const ref = refOf({ id: src.id, step }, key);
    const r = await loadScores(con, ctx.artifacts.path(ref), col, panel, `${src.uses} ${key} of step ${src.id}`);
    dropped += r.dropped;
    for (const [p, m] of r.paths) {
      if (out.has(p)) throw new UserError(`${src.uses} step ${src.id}: path ${p} appears in both oof and oof_walk_forward`);
      out.set(p, m);
    }
  }
  return { paths: out, dropped };
}

/** Loads target weights of an upstream portfolio.build into dense per-path matrices (0 = no position). */
export async function loadWeights(con: DuckDBConnection, ctx: StepContext, id: string, panel: PricePanel): Promise<Map<number, Float64Array>> {
  const ref = refOf({ id, step: ctx.ancestors[id]! }, 'weights');
  const { paths, dropped } = await loadScores(con, ctx.artifacts.path(ref), 'weight', panel, `portfolio.build weights of step ${id}`);
  if (dropped > 0) {
    throw new UserError(`portfolio.build weights of step ${id} have ${dropped} rows dated outside the price calendar (or unknown symbols): a weight must be decided on a trading date with prices`);
  }
  for (const m of paths.values()) for (let k = 0; k < m.length; k++) if (m[k] !== m[k]) m[k] = 0;
  return paths;
}

/** Picks the signal: a portfolio.build ancestor, else stack.oof, else the single fit.cpcv. */
export function pickSource(ctx: StepContext): { id: string; uses: 'portfolio.build' | 'stack.oof' | 'fit.cpcv' } {
  for (const uses of ['portfolio.build', 'stack.oof'] as const) {
    const a = ancestorsOf(ctx, uses);
    if (a.length > 1) throw new UserError(`${ctx.uses} found ${a.length} upstream ${uses} steps (${a.map((x) => x.id).join(', ')}); expected at most one`);
    if (a.length === 1) return { id: a[0]!.id, uses };
  }
  const fits = ancestorsOf(ctx, 'fit.cpcv');
  if (fits.length === 1) return { id: fits[0]!.id, uses: 'fit.cpcv' };
  throw new UserError(`${ctx.uses} needs an upstream portfolio.build, stack.oof or a single fit.cpcv step (found ${fits.length} fit.cpcv and no stack)`);
}

/** Builds weights for every path of a score map. */
export function weightsFromScores(scores: Map<number, Float64Array>, panel: PricePanel, risk: RiskInputs, cfg: PortfolioConfig): { weights: Map<number, Float64Array>; meanLeverage: Record<string, number> } {
  const weights = new Map<number, Float64Array>();
  const meanLeverage: Record<string, number> = {};
  for (const [p, s] of [...scores.entries()].sort((a, b) => a[0] - b[0])) {
    const b = buildWeights(s, panel, risk.ret, cfg);
    weights.set(p, b.weights);
    let sum = 0;
    let n = 0;
    for (let t = 0; t < panel.T; t++) {
      let any = false;
      for (let i = 0; i < panel.N && !any; i++) any = b.weights[t * panel.N + i] !== 0;
      if (any) {
        sum += b.leverage[t]!;
        n++;
      }
    }
    meanLeverage[String(p)] = n ? sum / n : 0;
  }
  return { weights, meanLeverage };
}

export type { ArtifactRef, CostConfig };
