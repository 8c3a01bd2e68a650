/**
 * The small real pipeline the trivial-learner and challenger tests run on sp500_subset: a 20-round
 * xgboost sleeve and a ridge sleeve (fit.linear), stacked, built into a book, backtested and gated.
 * The gate's bars are all non-blocking so the verdict passes whatever the data says (the bars'
 * values are still computed); each test adds its own approval, promotion and report steps.
 */

/** A promotion bars file with every bar non-blocking. */
export const LENIENT_BARS = ['sharpe', 'max_drawdown', 'dsr', 'psr', 'pbo', 'turnover', 'stack_vs_sleeves', 'calibration', 'ope', 'champion'].map((b) => `${b}: { blocking: false }`).join('\n');

/** The steps from ingest to the gate, as pipelines.yaml lines indented for a `steps:` block; `bars` is the bars file's path. */
export function gatedSleeveSteps(bars: string): string {
  return `      ingest:    { uses: ingest.ohlcv, with: { dataset: sp500_subset } }
      audit:     { uses: qc.audit, needs: [ingest] }
      features:  { uses: features.equities, needs: [audit] }
      labels:    { uses: labels.horizon, needs: [audit], with: { horizon: 5 } }
      xgb:       { uses: fit.cpcv, needs: [features, labels], with: { sleeve: xs_horizon, grid: {}, num_boost_round: 20 } }
      linear:    { uses: fit.linear, needs: [features, labels], with: { sleeve: linear } }
      stack:     { uses: stack.oof, needs: [xgb, linear] }
      portfolio: { uses: portfolio.build, needs: [stack] }
      backtest:  { uses: backtest.cpcv_paths, needs: [portfolio] }
      gate:      { uses: gate.governance, needs: [backtest], with: { bars: "${bars}" } }
`;
}
