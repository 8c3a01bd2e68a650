/**
 * The XGBoost learner reproduces the Booster used directly the way fit.cpcv uses it (DMatrix with
 * weights or per-date groups and group weights, early stopping, iteration_range prediction, ONNX
 * export) on a real S&P slice — with Debian's libxgboost 1.7 in process and with the PyPI wheel's
 * newer libxgboost in a child process (one libxgboost per process).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasSharedData } from '../../lib/paths.ts';
import { useXGBoostLibrary, WHEEL_XGBOOST, xgboostApi, xgboostLibraryCandidates } from '../../models/xgboost/binding.ts';
import { xgbLearnerReport, type CaseReport } from './xgb_learner_check.ts';
import { loadLearnerPanel } from './sp500_matrix.ts';

function expectSame(cases: Record<string, CaseReport>): void {
  for (const [name, c] of Object.entries(cases)) {
    expect({ name, same: c.learnerPred }).toEqual({ name, same: c.directPred });
    expect({ name, onnxSame: c.onnxSame, reloadSame: c.reloadSame }).toEqual({ name, onnxSame: true, reloadSame: true });
    expect(c.onnxMaxDiff, name).toBeLessThan(1e-5);
    expect(c.bestIteration, name).toBeLessThan(c.rounds);
  }
  expect(cases.multiclass!.width).toBe(3);
  expect(cases.regression!.validMetric).toBe('valid-rmse');
  expect(cases.rank!.validMetric).toMatch(/^valid-ndcg/);
  // early stopping happened somewhere, so best-iteration prediction and slicing are exercised
  expect(Object.values(cases).some((c) => c.rounds < 120 && c.bestIteration + 1 < c.rounds)).toBe(true);
}

describe('XGBoost library choice', () => {
  it('wheel and debian name their libraries; switching after loading is refused', () => {
    const prev = process.env.TRADEML_XGBOOST_LIB;
    try {
      process.env.TRADEML_XGBOOST_LIB = 'wheel';
      expect(xgboostLibraryCandidates()).toEqual([WHEEL_XGBOOST]);
      process.env.TRADEML_XGBOOST_LIB = 'debian';
      expect(xgboostLibraryCandidates()[0]).toBe('libxgboost.so.0');
    } finally {
      if (prev === undefined) delete process.env.TRADEML_XGBOOST_LIB;
      else process.env.TRADEML_XGBOOST_LIB = prev;
    }
    useXGBoostLibrary('debian');
    expect(xgboostApi().version).toMatch(/^1\.7\./);
    expect(() => useXGBoostLibrary('debian')).not.toThrow();
    expect(() => useXGBoostLibrary('wheel')).toThrow(/already loaded in this process; cannot switch to wheel/);
  });
});

describe.skipIf(!hasSharedData())('XGBoost learner = the Booster used directly (real S&P data)', () => {
  it("Debian's libxgboost 1.7: regression, rank:pairwise with groups, softprob, binary", async () => {
    const r = await xgbLearnerReport(await loadLearnerPanel());
    expect(r.version).toMatch(/^1\.7\./);
    expectSame(r.cases);
    expect(r.live).toEqual({ dmatrix: 0, booster: 0 });
  });

  it.skipIf(!existsSync(WHEEL_XGBOOST))("the wheel's libxgboost (child process): the same equalities and ONNX parity", () => {
    const script = path.join(import.meta.dirname, 'xgb_learner_check.ts');
    const out = execFileSync(process.execPath, ['--import', 'tsx', script, 'wheel'], { encoding: 'utf8', timeout: 120_000 });
    const r = JSON.parse(out.trim().split('\n').pop()!) as Awaited<ReturnType<typeof xgbLearnerReport>>;
    expect(Number(r.version.split('.')[0])).toBeGreaterThanOrEqual(2);
    expectSame(r.cases);
    expect(r.live).toEqual({ dmatrix: 0, booster: 0 });
  });
});
