/**
 * Issue 20: the adaptive execution cost model (execution/adaptive/cost_model.ts) priced into the
 * daily backtest. (1) known answers against the inline square-root law, (2) a positive residual
 * raises costs, (3) `backtest.cpcv_paths` with `inputs.impact_model` bound in a compiled spec, run
 * on the embedded runtime, uses the model; bad references are refused at plan time.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { runPath, type ExecutionTiming } from '../../backtest/engine.ts';
import { panelFromRows, type PricePanel } from '../../backtest/panel.ts';
import { calendarFor, NYSE_DAILY } from '../../calendar/calendar.ts';
import { executionCostModel } from '../../contracts/execution.ts';
import { ohlcvDaily, portfolioWeights } from '../../contracts/index.ts';
import { EmbeddedRuntime } from '../../embedded/runtime.ts';
import { AdaptiveCostModel, adaptiveImpactCost, RESIDUAL_FEATURES } from '../../execution/adaptive/cost_model.ts';
import { costConfigSchema, impactCost, riskInputs, type CostConfig } from '../../execution/cost_models.ts';
import { STEP_KINDS } from '../../kinds/registry.ts';
import { defineStepKind, type AnyStepKind } from '../../kinds/types.ts';
import { loadConfig } from '../../lib/config.ts';
import { queryRows, sqlString, withDuckDB } from '../../lib/duckdb.ts';
import { hasSharedData, PROJECT_ROOT } from '../../lib/paths.ts';
import { DEFAULT_ADAPTIVE_COST } from '../../execution/adaptive/experiment.ts';
import { JOBS } from '../../kinds/execution/jobs.ts';
import { loadLobSession } from '../../lob/load.ts';
import { portfolioConfigSchema } from '../../portfolio/config.ts';
import { Rng } from '../../rl/rng.ts';
import { tempDir } from '../support/context.ts';
import { planFromYaml } from '../support/specs.ts';

/** Weekdays from 2021-01-04 (the backtest only needs ordered dates; the calendar is by name). */
function weekdays(n: number): string[] {
  const out: string[] = [];
  for (let d = new Date(Date.UTC(2021, 0, 4)); out.length < n; d = new Date(d.getTime() + 86_400_000)) {
    if (d.getUTCDay() !== 0 && d.getUTCDay() !== 6) out.push(d.toISOString().slice(0, 10));
  }
  return out;
}

/** Synthetic random-walk panel: N names × T days, opens and closes around 100, volume 1e5–1e6 shares. */
function randomPanel(T: number, N: number, seed: number): { rows: { date: string; symbol: string; open: number; close: number; volume: number }[]; panel: PricePanel } {
  const rng = new Rng(seed);
  const dates = weekdays(T);
  const rows = [];
  for (let i = 0; i < N; i++) {
    let c = 50 + 100 * rng.next();
    for (const date of dates) {
      const open = c * Math.exp(0.005 * rng.normal());
      c = open * Math.exp(0.015 * rng.normal());
      rows.push({ date, symbol: `S${String(i).padStart(2, '0')}`, open, close: c, volume: Math.round(1e5 + 9e5 * rng.next()) });
    }
  }
  return { rows, panel: panelFromRows(rows) };
}

/** Dense T×N target weights: random ±4% per name from day `from` on (0 before), path-seeded. */
function randomWeights(panel: PricePanel, seed: number, from = 25): Float64Array {
  const rng = new Rng(seed);
  const W = new Float64Array(panel.T * panel.N);
  for (let t = from; t < panel.T; t++) for (let i = 0; i < panel.N; i++) W[t * panel.N + i] = 0.04 * (2 * rng.next() - 1);
  return W;
}

/** A model whose residual RLS weights are `w` (default all zero) and has seen nothing (no clipping). */
function modelWith(c: number, w: number[] = new Array(7).fill(0)): AdaptiveCostModel {
  const P = new Array(49).fill(0).map((_, k) => (k % 8 === 0 ? 1e-3 : 0));
  return new AdaptiveCostModel(c, 1000, 1, { w, P, n: 0 });
}

const sum = (a: Float64Array) => a.reduce((x, v) => x + v, 0);

describe('known answers: the impact hook against the inline square-root law', () => {
  const { panel } = randomPanel(80, 6, 1);
  const costs = costConfigSchema.parse({});
  const risk = riskInputs(panel, costs.impact.sigma_window, costs.impact.adv_window);
  const W = randomWeights(panel, 2); // from day 25: σ and ADV known for every trade

  it('impactFn = impactCost (the same square-root law as a function) gives bitwise the inline series, both fill timings', () => {
    for (const timing of ['close', 'next_open'] as ExecutionTiming[]) {
      const inline = runPath(W, panel, risk, costs, NYSE_DAILY, timing);
      const hooked = runPath(W, panel, risk, costs, NYSE_DAILY, timing, impactCost);
      expect(hooked).toEqual(inline);
      expect(sum(inline.impact)).toBeGreaterThan(0);
    }
  });

  it('trades with unknown σ / ADV fall back to missing_bps both ways (equal to rounding: |Δw|·(m/1e4) vs (|Δw|·m)/1e4)', () => {
    const early = randomWeights(panel, 2, 0);
    const inline = runPath(early, panel, risk, costs, NYSE_DAILY, 'close');
    const hooked = runPath(early, panel, risk, costs, NYSE_DAILY, 'close', impactCost);
    for (let t = 0; t < panel.T; t++) expect(hooked.impact[t]!).toBeCloseTo(inline.impact[t]!, 16);
  });

  /**
   * The AC base is linear in participation ρ (c·σ·ρ bps) where the inline law is square-root
   * (Y·σ·√ρ), so the two agree exactly where c = Y/√ρ*, at the participation ρ*. One name whose
   * dollar volume is constant (volume = K/close) and a book alternating 0 → a → 0 with the price
   * unchanged while it is held (no drift: every trade is exactly ±a) puts every trade at ρ* = a·cap/K.
   */
  function constantParticipationPanel(): { panel: PricePanel; W: Float64Array; rho: number; a: number; cfg: CostConfig } {
    const dates = weekdays(90);
    const K = 5e7;
    const a = 0.03;
    const cfg = costConfigSchema.parse({});
    const rows = [];
    let c = 100;
    for (let t = 0; t < dates.length; t++) {
      if (t % 2 === 0) c *= t % 4 === 0 ? 1.013 : 0.991; // moves only into even days (when the book is flat)
      rows.push({ date: dates[t]!, symbol: 'A', open: c, close: c, volume: K / c });
    }
    const p = panelFromRows(rows);
    const w = new Float64Array(p.T);
    for (let t = 30; t < p.T; t += 2) w[t] = a; // bought at the close of even days, sold at the next close
    return { panel: p, W: w, rho: (a * cfg.capital_usd) / K, a, cfg };
  }

  it('a zero-residual model with c = Y/√ρ reproduces the inline square-root impact to 1e-12 where every trade is at participation ρ', () => {
    const { panel: p, W: w, rho, cfg } = constantParticipationPanel();
    const r = riskInputs(p, cfg.impact.sigma_window, cfg.impact.adv_window);
    const inline = runPath(w, p, r, cfg, NYSE_DAILY, 'close');
    const model = runPath(w, p, r, cfg, NYSE_DAILY, 'close', adaptiveImpactCost(modelWith(cfg.impact.coefficient / Math.sqrt(rho))));
    const scale = Math.max(...inline.impact);
    expect(scale).toBeGreaterThan(1e-6);
    expect(inline.impact.filter((x) => x > 0).length).toBe(60); // 30 buys, 30 sells
    for (let t = 0; t < p.T; t++) expect(Math.abs(model.impact[t]! - inline.impact[t]!)).toBeLessThanOrEqual(1e-12 * scale);
    for (let t = 0; t < p.T; t++) expect(Math.abs(model.net[t]! - inline.net[t]!)).toBeLessThanOrEqual(1e-12 * scale);
    expect(model.gross).toEqual(inline.gross);
  });

  it('away from ρ the two laws differ as √(ρ/ρ*): twice the trade size costs √2 times the square-root impact', () => {
    const { panel: p, W: w, rho, cfg } = constantParticipationPanel();
    const w2 = w.map((x) => 2 * x);
    const r = riskInputs(p, cfg.impact.sigma_window, cfg.impact.adv_window);
    const inline = runPath(w2, p, r, cfg, NYSE_DAILY, 'close');
    const model = runPath(w2, p, r, cfg, NYSE_DAILY, 'close', adaptiveImpactCost(modelWith(cfg.impact.coefficient / Math.sqrt(rho))));
    expect(sum(model.impact) / sum(inline.impact)).toBeCloseTo(Math.SQRT2, 10);
  });

  it('the zero-residual model prices each trade c·σ·ρ bps of |Δw| (AC base minus the half-spread charged separately)', () => {
    const cfg = costConfigSchema.parse({});
    const f = adaptiveImpactCost(modelWith(0.7));
    const rho = (0.02 * cfg.capital_usd) / 4e7;
    expect(f(-0.02, 0.015, 4e7, cfg)).toBeCloseTo((0.02 * 0.7 * 0.015 * 1e4 * rho) / 1e4, 15);
    expect(f(0.02, NaN, 4e7, cfg)).toBe(impactCost(0.02, NaN, 4e7, cfg));
  });
});

describe('a positive residual raises costs', () => {
  const { panel } = randomPanel(120, 8, 3);
  const costs = costConfigSchema.parse({});
  const risk = riskInputs(panel, costs.impact.sigma_window, costs.impact.adv_window);
  const W = randomWeights(panel, 4);

  it('an intercept of +3 bps adds 3 bps of each traded notional to impact: net lower, gross unchanged', () => {
    for (const timing of ['close', 'next_open'] as ExecutionTiming[]) {
      const zero = runPath(W, panel, risk, costs, NYSE_DAILY, timing, adaptiveImpactCost(modelWith(0.6)));
      const plus = runPath(W, panel, risk, costs, NYSE_DAILY, timing, adaptiveImpactCost(modelWith(0.6, [3, 0, 0, 0, 0, 0, 0])));
      expect(plus.gross).toEqual(zero.gross);
      expect(plus.fee).toEqual(zero.fee);
      expect(plus.spread).toEqual(zero.spread);
      expect(plus.borrow).toEqual(zero.borrow);
      for (let t = 0; t < panel.T; t++) {
        expect(plus.impact[t]! - zero.impact[t]!).toBeCloseTo((zero.turnover[t]! * 3) / 1e4, 14);
        expect(plus.net[t]!).toBeLessThanOrEqual(zero.net[t]!);
      }
      expect(sum(plus.impact)).toBeGreaterThan(sum(zero.impact));
      expect(sum(plus.net)).toBeLessThan(sum(zero.net));
    }
  });

  it('toJSON → fromJSON restores a trained model that prices bit for bit the same', () => {
    const m = new AdaptiveCostModel(0.4, 10, 0.99);
    const rng = new Rng(5);
    for (let k = 0; k < 200; k++) {
      const f = { timeOfDay: rng.next(), spreadBps: 2 + 8 * rng.next(), sigmaBps: 5 + 20 * rng.next(), participation: rng.next(), side: rng.next() < 0.5 ? 1 : -1 };
      m.update(f, m.baseBps(f) + 2 + 0.1 * f.spreadBps + rng.normal());
    }
    const json = JSON.parse(JSON.stringify(m.toJSON())) as unknown;
    const back = AdaptiveCostModel.fromJSON(json);
    expect(back.toJSON()).toEqual(m.toJSON());
    expect(runPath(W, panel, risk, costs, NYSE_DAILY, 'next_open', adaptiveImpactCost(back, 0))).toEqual(runPath(W, panel, risk, costs, NYSE_DAILY, 'next_open', adaptiveImpactCost(m, 0)));
    // an untrained model (feature range ±∞ → null in JSON) round-trips too
    expect(AdaptiveCostModel.fromJSON(JSON.parse(JSON.stringify(modelWith(1).toJSON()))).toJSON()).toEqual(modelWith(1).toJSON());
    expect(() => AdaptiveCostModel.fromJSON({ ...m.toJSON(), kind: 'other' })).toThrow(/not a trademl.adaptive_cost_model\/v1 model: kind/);
    expect(() => AdaptiveCostModel.fromJSON({ ...m.toJSON(), features: [...RESIDUAL_FEATURES].reverse() })).toThrow(/residual feature 0/);
  });
});

describe.skipIf(!hasSharedData())('the model JSON execution.cost_model writes (GOOG replay)', () => {
  it('is read by fromJSON and written back identically by toJSON', async () => {
    const session = await loadLobSession('GOOG');
    const r = await JOBS.cost_model({ session, cfg: { ...DEFAULT_ADAPTIVE_COST, everySeconds: 20 } }, () => {});
    const json = JSON.parse(JSON.stringify(r.model)) as Record<string, unknown>;
    const m = AdaptiveCostModel.fromJSON(json);
    expect(m.toJSON()).toEqual(json);
    expect(m.rls.n).toBe(r.children);
    const f = adaptiveImpactCost(m, 0.5);
    const cfg = costConfigSchema.parse({});
    expect(f(0.01, 0.02, 5e7, cfg)).toBeGreaterThanOrEqual(0);
  });
});

// ── (3) the step kind in a compiled spec on the embedded runtime ─────────────────────────────────

const T3 = 120;
const N3 = 12;
const PANEL_SEED = 11;
const PATHS = [0, 1, 2];
const INTERCEPT_BPS = 3;
const C = 0.8;

/** Test-only kinds (registered for this file only) providing the backtest's inputs from synthetic data. */
const pricesKind = defineStepKind({
  uses: 'fixture.prices',
  version: '1',
  description: 'test fixture: synthetic daily OHLCV',
  with: z.object({}).strict(),
  outputs: z.object({ ohlcv: ohlcvDaily.schema }),
  provides: { ohlcv: ohlcvDaily },
  async run(ctx) {
    const { rows } = randomPanel(T3, N3, PANEL_SEED);
    const csv = path.join(ctx.workDir, 'px.csv');
    writeFileSync(csv, 'date,symbol,open,high,low,close,volume\n' + rows.map((r) => `${r.date},${r.symbol},${r.open},${Math.max(r.open, r.close)},${Math.min(r.open, r.close)},${r.close},${r.volume}`).join('\n') + '\n');
    const tmp = ctx.artifacts.tempPath('ohlcv.parquet');
    await withDuckDB((con) =>
      con.run(`COPY (SELECT CAST(date AS DATE) AS date, symbol, open, high, low, close, volume FROM read_csv(${sqlString(csv)}, columns = {'date': 'VARCHAR', 'symbol': 'VARCHAR', 'open': 'DOUBLE', 'high': 'DOUBLE', 'low': 'DOUBLE', 'close': 'DOUBLE', 'volume': 'DOUBLE'}, header = true) ORDER BY symbol, date) TO ${sqlString(tmp)} (FORMAT parquet)`),
    );
    return { ohlcv: { ...(await ctx.artifacts.putFile(tmp, { name: 'ohlcv.parquet' })), dataset: 'synthetic', calendar: 'nyse' } };
  },
});

/** Dense weights of path p of the fixture (what fixture.weights writes). */
const fixtureWeights = (panel: PricePanel, p: number) => randomWeights(panel, 100 + p);

const weightsKind = defineStepKind({
  uses: 'fixture.weights',
  version: '1',
  description: 'test fixture: random target weights on the synthetic panel',
  with: z.object({}).strict(),
  outputs: z.object({ weights: portfolioWeights.schema }),
  provides: { weights: portfolioWeights },
  async run(ctx) {
    const { panel } = randomPanel(T3, N3, PANEL_SEED);
    const lines = ['path,date,symbol,weight'];
    for (const p of PATHS) {
      const W = fixtureWeights(panel, p);
      for (let t = 0; t < panel.T; t++) for (let i = 0; i < panel.N; i++) if (W[t * panel.N + i] !== 0) lines.push(`${p},${panel.dates[t]},${panel.symbols[i]},${W[t * panel.N + i]}`);
    }
    const csv = path.join(ctx.workDir, 'w.csv');
    writeFileSync(csv, lines.join('\n') + '\n');
    const tmp = ctx.artifacts.tempPath('weights.parquet');
    await withDuckDB((con) =>
      con.run(`COPY (SELECT CAST(path AS INTEGER) AS path, CAST(date AS DATE) AS date, symbol, weight FROM read_csv(${sqlString(csv)}, columns = {'path': 'INTEGER', 'date': 'VARCHAR', 'symbol': 'VARCHAR', 'weight': 'DOUBLE'}, header = true) ORDER BY path, date, symbol) TO ${sqlString(tmp)} (FORMAT parquet)`),
    );
    return { weights: { ...(await ctx.artifacts.putFile(tmp, { name: 'weights.parquet' })), calendar: 'nyse', paths: PATHS, source: { step: ctx.stepId, sleeve: 'synthetic' } } };
  },
});

const stats = { mae: 1, rmse: 1, bias: 0, r2: 0, corr: 0 };
const costModelKind = defineStepKind({
  uses: 'fixture.cost_model',
  version: '1',
  description: 'test fixture: an adaptive cost model with a known residual intercept',
  with: z.object({ intercept_bps: z.number(), broken: z.boolean().default(false) }).strict(),
  outputs: z.object({ cost_model: executionCostModel.schema }),
  provides: { cost_model: executionCostModel },
  async run(ctx, w) {
    const m = modelWith(C, [w.intercept_bps, 0, 0, 0, 0, 0, 0]);
    const json = w.broken ? { ...m.toJSON(), kind: 'something.else/v0' } : { ...m.toJSON(), trained_on: { symbol: 'GOOG', date: '2012-06-21' } };
    const model = await ctx.artifacts.putJson(json, 'adaptive_cost_model.json');
    const report = await ctx.artifacts.putJson({}, 'adaptive_cost.json');
    return { cost_model: { symbol: 'GOOG', date: '2012-06-21', c: C, children: 0, base: stats, adaptive: stats, calibration: [], residual_weights: Object.fromEntries(RESIDUAL_FEATURES.map((f, k) => [f, k === 0 ? w.intercept_bps : 0])), model, report } };
  },
});

const FIXTURES: AnyStepKind[] = [pricesKind, weightsKind, costModelKind];
const registry = STEP_KINDS as Map<string, AnyStepKind>;
beforeAll(() => FIXTURES.forEach((k) => registry.set(k.uses, k)));
afterAll(() => FIXTURES.forEach((k) => registry.delete(k.uses)));

const spec = (backtests: string) => `version: 1
defaults: { retry: { maximum_attempts: 1 } }
pipelines:
  p:
    steps:
      prices:  { uses: fixture.prices }
      weights: { uses: fixture.weights }
      cost:    { uses: fixture.cost_model, with: { intercept_bps: ${INTERCEPT_BPS} } }
      cost0:   { uses: fixture.cost_model, with: { intercept_bps: 0 } }
${backtests}`;

describe('backtest.cpcv_paths with inputs.impact_model in a compiled spec', () => {
  it('binds the model explicitly or as the nearest upstream provider, and none without one; a bad reference is refused at plan time', () => {
    const plan = planFromYaml(
      spec(`      plain:    { uses: backtest.cpcv_paths, needs: [prices, weights] }
      explicit: { uses: backtest.cpcv_paths, needs: [prices, weights, cost], inputs: { impact_model: "\${{ steps.cost.outputs.cost_model }}" } }
      nearest:  { uses: backtest.cpcv_paths, needs: [prices, weights, cost] }
`),
      'p',
    );
    const inputs = (id: string) => plan.steps.find((s) => s.id === id)!.inputs;
    expect(inputs('plain').impact_model).toEqual([]);
    expect(inputs('explicit').impact_model).toEqual([{ step: 'cost', output: 'cost_model' }]);
    expect(inputs('nearest').impact_model).toEqual([{ step: 'cost', output: 'cost_model' }]);

    const bad = (binding: string, needs = '[prices, weights, cost]') => () => planFromYaml(spec(`      bt: { uses: backtest.cpcv_paths, needs: ${needs}, inputs: { impact_model: ${binding} } }\n`), 'p');
    expect(bad('"${{ steps.weights.outputs.weights }}"')).toThrow(/test\.yaml:\d+:\d+.*input "impact_model" needs execution\.cost_model@1, but output "weights" of step "weights" \(fixture\.weights\) is portfolio\.weights@1/s);
    expect(bad('prices')).toThrow(/input "impact_model": step "prices" \(fixture\.prices\) provides no execution\.cost_model@1/);
    expect(bad('nosuch')).toThrow(/input "impact_model" binds unknown step "nosuch"/);
    expect(bad('cost', '[prices, weights]')).toThrow(/input "impact_model" binds step "cost", which is not upstream of "bt"/);
  });

  it('runs on the embedded runtime: the bound model prices the impact (known answer per path), gross unchanged, a positive residual lowers net; a broken model artifact is an InputError', async () => {
    const plan = planFromYaml(
      spec(`      broken:   { uses: fixture.cost_model, with: { intercept_bps: 0, broken: true } }
      plain:    { uses: backtest.cpcv_paths, needs: [prices, weights] }
      adaptive: { uses: backtest.cpcv_paths, needs: [prices, weights, cost, cost0], inputs: { impact_model: cost } }
      zero:     { uses: backtest.cpcv_paths, needs: [prices, weights, cost0] }
      bad:      { uses: backtest.cpcv_paths, needs: [prices, weights, broken] }
`),
      'p',
    );
    const home = tempDir('trademl-impact-model-');
    const rt = new EmbeddedRuntime({ home, noCache: true });
    const run = await rt.start(plan);
    const st = run.state.steps;
    for (const id of ['prices', 'weights', 'cost', 'cost0', 'broken', 'plain', 'adaptive', 'zero']) expect(st[id]!.status, `${id}: ${st[id]!.error?.message}`).toBe('succeeded');
    expect(st.bad!.status).toBe('failed');
    expect(st.bad!.error?.message).toMatch(/impact_model from broken\.cost_model \(fixture\.cost_model\): not a trademl\.adaptive_cost_model\/v1 model: kind/);

    type Out = { returns: { returns: { uri: string }; metrics: { uri: string } }; sharpe_median: number; cost_drag_bps_median: number; execution: ExecutionTiming };
    const out = (id: string) => st[id]!.outputs as unknown as Out;
    const metrics = (id: string) => rt.artifacts.readJson<Record<string, any>>(out(id).returns.metrics.uri);
    expect(metrics('plain').impact_model).toBeUndefined();
    expect(metrics('adaptive').impact_model).toMatchObject({ step: 'cost', output: 'cost_model', c: C, symbol: 'GOOG', time_of_day: { close: 1, next_open: 0 } });
    expect(metrics('zero').impact_model).toMatchObject({ step: 'cost0' });
    // +3 bps of residual costs more than the same model without it
    expect(out('adaptive').sharpe_median).toBeLessThan(out('zero').sharpe_median);
    expect(out('adaptive').cost_drag_bps_median).toBeGreaterThan(out('zero').cost_drag_bps_median);
    // and either prices differently from the square-root law (here: cheaper, ρ ≈ 0.08 where c·ρ < Y·√ρ)
    expect(out('zero').cost_drag_bps_median).not.toBe(out('plain').cost_drag_bps_median);

    type Row = { path: number; gross: number; impact: number; net: number; fee: number };
    const rows = (id: string) => withDuckDB((con) => queryRows<Row>(con, `SELECT path, gross, impact, net, fee FROM read_parquet(${sqlString(rt.artifacts.path(out(id).returns.returns.uri))}) ORDER BY path, date`));
    const [plain, adaptive, zero] = [await rows('plain'), await rows('adaptive'), await rows('zero')];
    expect(adaptive.length).toBe(plain.length);
    expect(zero.length).toBe(plain.length);
    adaptive.forEach((r, k) => {
      expect(r.path).toBe(plain[k]!.path);
      expect(r.gross).toBe(plain[k]!.gross);
      expect(r.fee).toBe(plain[k]!.fee);
      expect(zero[k]!.gross).toBe(plain[k]!.gross);
      expect(r.impact).toBeGreaterThanOrEqual(zero[k]!.impact);
      expect(r.net).toBeLessThanOrEqual(zero[k]!.net);
    });
    expect(adaptive.some((r, k) => r.impact > zero[k]!.impact)).toBe(true);

    // known answer: each path's impact is runPath with adaptiveImpactCost of the same model, at the open
    const { panel } = randomPanel(T3, N3, PANEL_SEED);
    const costs = loadConfig(PROJECT_ROOT, 'configs/costs.yml', costConfigSchema);
    const timing = loadConfig(PROJECT_ROOT, 'configs/portfolio.yml', portfolioConfigSchema).execution;
    expect(out('adaptive').execution).toBe(timing);
    const risk = riskInputs(panel, costs.impact.sigma_window, costs.impact.adv_window);
    const model = AdaptiveCostModel.fromJSON(JSON.parse(rt.artifacts.readText(metrics('adaptive').impact_model.model.uri)));
    for (const p of PATHS) {
      const want = runPath(fixtureWeights(panel, p), panel, risk, costs, calendarFor('nyse'), timing, adaptiveImpactCost(model, timing === 'close' ? 1 : 0));
      const sqrt = runPath(fixtureWeights(panel, p), panel, risk, costs, calendarFor('nyse'), timing);
      const got = adaptive.filter((r) => r.path === p);
      const gotPlain = plain.filter((r) => r.path === p);
      const start = panel.T - got.length;
      got.forEach((r, k) => {
        expect(r.impact).toBeCloseTo(want.impact[start + k]!, 15);
        expect(gotPlain[k]!.impact).toBeCloseTo(sqrt.impact[start + k]!, 15);
      });
    }
  });
});
