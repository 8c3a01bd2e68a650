/**
 * Look-ahead / leakage check on cross-sectional signals.
 *
 * Daily cross-sectional rank ICs of honest equity signals are small: |mean rank IC| of a few
 * hundredths is typical for daily-to-weekly horizons (Grinold & Kahn, ch. 6, "IC of 0.05 is good";
 * López de Prado, AFML ch. 8/12). An out-of-fold mean rank IC far above that, or a single feature
 * whose univariate rank IC with the label is that large, almost always means the label leaked into
 * the features (shifted label, future prices, a t1 that overlaps the test span) — the classic
 * failure CPCV's purging cannot catch because it lives inside the features themselves.
 */
import { dailyIc, summarizeIc } from './metrics.ts';
import { panelLabelRanks, type Panel } from './panel.ts';

/** Thresholds of the check (configs/training/*.yml `leakage`). */
export interface LeakageThresholds {
  /** Flag when |mean OOF rank IC| (averaged over paths) exceeds this. */
  max_abs_mean_rank_ic: number;
  /** Flag a feature whose |mean univariate rank IC| with the label exceeds this. */
  max_abs_feature_rank_ic: number;
}

/** What the check found. */
export interface LeakageReport {
  suspicious: boolean;
  reasons: string[];
  /** Features flagged by the univariate check, with their mean rank IC. */
  features: { name: string; rank_ic: number }[];
}

/**
 * Applies the thresholds to the OOF mean rank IC and each feature's univariate mean rank IC.
 * Pure; the caller decides to warn or fail.
 */
export function checkLeakage(oofMeanRankIc: number, featureRankIc: Record<string, number>, t: LeakageThresholds): LeakageReport {
  const reasons: string[] = [];
  const features: { name: string; rank_ic: number }[] = [];
  if (Number.isFinite(oofMeanRankIc) && Math.abs(oofMeanRankIc) > t.max_abs_mean_rank_ic) {
    reasons.push(
      `out-of-fold mean rank IC ${oofMeanRankIc.toFixed(4)} exceeds |${t.max_abs_mean_rank_ic}| — far above what honest daily cross-sectional equity signals reach`,
    );
  }
  for (const [name, ic] of Object.entries(featureRankIc)) {
    if (Number.isFinite(ic) && Math.abs(ic) > t.max_abs_feature_rank_ic) {
      features.push({ name, rank_ic: ic });
      reasons.push(`feature "${name}" has univariate mean rank IC ${ic.toFixed(4)} with the label (> |${t.max_abs_feature_rank_ic}|): does it use information after the label's date?`);
    }
  }
  return { suspicious: reasons.length > 0, reasons, features };
}

const yieldToEventLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * Each feature's mean daily rank IC (Spearman across symbols per date, averaged over dates) with
 * the panel's label, by feature name. Yields to the event loop between features (heartbeats).
 */
export async function featureRankIcs(panel: Pick<Panel, 'n' | 'nFeatures' | 'featureNames' | 'X' | 'blocks' | 'label'>): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const col = new Float32Array(panel.n);
  const labelRanks = panelLabelRanks(panel);
  for (let j = 0; j < panel.nFeatures; j++) {
    await yieldToEventLoop();
    for (let i = 0; i < panel.n; i++) col[i] = panel.X[i * panel.nFeatures + j]!;
    out[panel.featureNames[j]!] = summarizeIc(new Float64Array(0), dailyIc(panel.blocks, col, panel.label, undefined, labelRanks).rankIc).rank_ic;
  }
  return out;
}
