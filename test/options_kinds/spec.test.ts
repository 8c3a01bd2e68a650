/**
 * pipelines.yaml's `options_vol` block: validate accepts it, and the compiler binds every consumed
 * input of the sleeve's steps to the provider the DAG means (the ambiguous ones bound explicitly).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/paths.ts';
import { compilePlan, loadSpec } from '../../spec/compile.ts';
import { validateSpecText } from '../../spec/validate.ts';

const file = path.join(PROJECT_ROOT, 'pipelines.yaml');

describe('options_vol in pipelines.yaml', () => {
  it('validates without diagnostics', () => {
    const r = validateSpecText(readFileSync(file, 'utf8'), 'pipelines.yaml');
    expect(r.diagnostics).toEqual([]);
    expect(Object.keys(r.spec!.pipelines)).toContain('options_vol');
  });

  it('binds each input to the provider the DAG means; hedging on the gpu queue; the report always runs', () => {
    const plan = compilePlan(loadSpec(file), 'options_vol');
    const bound = (id: string) => {
      const s = plan.steps.find((x) => x.id === id)!;
      return Object.fromEntries(Object.entries(s.inputs).map(([k, v]) => [k, v.map((b) => `${b.step}.${b.output}`)]));
    };
    expect(bound('iv')).toEqual({ chain: ['chains.table'], index: ['indices_qc.curated'], quality: ['indices_qc.quality', 'chain_audit.quality'] });
    expect(bound('features')).toEqual({ iv: ['iv.iv'], index: ['indices_qc.curated'] });
    expect(bound('fit')).toMatchObject({ features: ['features.panel'], labels: ['targets.labels'] });
    expect(bound('backtest')).toEqual({ signal: ['fit.oof'], iv: ['iv.iv'], audit: ['chain_audit.audit'] });
    expect(bound('gate')).toEqual({ backtest: ['backtest.backtest'], trials: ['fit.trials'] });
    expect(bound('router')).toMatchObject({ index: ['indices_qc.curated'], breadth: ['equities.table'] });
    expect(bound('report')).toMatchObject({ surface: ['surface.surface'], router: ['router.router'], hedging: ['hedging.study'], backtest: ['backtest.backtest'] });
    const hedging = plan.steps.find((s) => s.id === 'hedging')!;
    expect(hedging.queue).toBe('gpu');
    expect(plan.steps.find((s) => s.id === 'report')!.when).toBe('always');
  });
});
