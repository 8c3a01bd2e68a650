/**
 * The metrics JSON of a CPCV fit: selected trial's aggregate, per-split and per-path figures,
 * walk-forward and in-sample ICs, feature rank ICs and the leakage verdict, calibration of
 * classifiers, ONNX parity and the CV layout (groups with their dates, path table, purge/embargo
 * counts per split).
 */
import type { LeakageReport } from './leakage.ts';
import { clean, round6 } from './ledger.ts';
import { annualizedSharpe, type IcSummary } from './metrics.ts';
import type { Panel } from './panel.ts';
import type { Refit } from './refit.ts';
import type { CpcvTrialsRun, CvLayout, TrialSummary } from './trials.ts';
import type { WalkForwardRun } from './walk_forward.ts';

/** One bin of a reliability diagram. */
export interface ReliabilityBin {
  bin: number;
  lo: number;
  hi: number;
  mean_pred: number | null;
  frac_pos: number | null;
  count: number;
}

/** Reliability diagram of P(most bullish class) over all paths: equal-width bins of the predicted probability (NaN skipped). */
export function reliability(probPaths: Float32Array[], positive: Uint8Array, bins: number): ReliabilityBin[] {
  const sp = new Float64Array(bins), sy = new Float64Array(bins), c = new Float64Array(bins);
  for (const pr of probPaths) {
    for (let i = 0; i < pr.length; i++) {
      const p = pr[i]!;
      if (Number.isNaN(p)) continue;
      const b = Math.min(bins - 1, Math.floor(p * bins));
      sp[b] += p;
      sy[b] += positive[i]!;
      c[b]++;
    }
  }
  return Array.from({ length: bins }, (_, b) => ({ bin: b + 1, lo: b / bins, hi: (b + 1) / bins, mean_pred: c[b] ? round6(sp[b]! / c[b]!) : null, frac_pos: c[b] ? round6(sy[b]! / c[b]!) : null, count: c[b]! }));
}

const toIso = (day: number): string => new Date(day * 86_400_000).toISOString().slice(0, 10);

/** Everything the metrics JSON is made of. */
export interface FitReportInput {
  sleeve: string;
  engine: string;
  task: 'regression' | 'classification';
  panel: Panel;
  layout: CvLayout;
  cv: { n_groups: number; n_test_groups: number; embargo_bars: number };
  run: CpcvTrialsRun;
  selected: number;
  summaries: TrialSummary[];
  walkForward: WalkForwardRun;
  refit: Refit;
  insample: IcSummary;
  featureIc: Record<string, number>;
  leakage: LeakageReport;
  positive?: Uint8Array;
  wallSeconds: number;
}

/** The metrics JSON document (numbers rounded to 6 decimals, non-finite → null). */
export function fitMetricsDoc(r: FitReportInput): Record<string, unknown> {
  const sel = r.summaries[r.selected]!;
  const { panel, layout } = r;
  return {
    sleeve: r.sleeve,
    engine: r.engine,
    task: r.task,
    calendar: panel.calendar.name,
    selected_trial: sel.trial_id,
    aggregate: clean({ ...sel.metrics }),
    per_split: r.run.splitRows[r.selected]!.map((x) => clean(x)),
    per_path: sel.perPath.map(({ ls, ...rest }) => ({ ...clean(rest), sharpe: round6(annualizedSharpe(ls, panel.calendar)) })),
    walk_forward: { ...clean({ ...r.walkForward.summary }), folds: r.walkForward.folds.map((x) => clean(x)) },
    insample: clean({ ...r.insample }),
    feature_rank_ic: clean(r.featureIc),
    leakage: r.leakage,
    calibration: r.run.probs && r.positive ? reliability(r.run.probs[r.selected]!, r.positive, 10) : null,
    onnx_parity: { max_abs_diff: r.refit.parity.maxAbsDiff, rows: r.refit.parity.rows },
    cv: {
      ...r.cv,
      n_splits: layout.splits.length,
      n_paths: layout.phi,
      groups: layout.groups.map((g) => ({ group: g.group, first_date: toIso(panel.uniqueDates[g.firstIdx]!), last_date: toIso(panel.uniqueDates[g.lastIdx]!), n_dates: g.lastIdx - g.firstIdx + 1 })),
      path_table: layout.table,
      splits: r.run.cvLayout,
    },
    rows: panel.n,
    dates: panel.uniqueDates.length,
    wall_s: round6(r.wallSeconds),
  };
}
