import { backtestReturns, gateVerdict } from '../contracts/trading.ts';
import { backtestOutputs } from '../kinds/backtest/backtest_cpcv.ts';
import { formatDuration } from '../lib/duration.ts';
import { provided, providers, type ViewStep } from '../report/provided.ts';
import { gateVerdictOf } from '../report/sections.ts';

/**
 * The headline `trademl run` ends with: what the run came to, then how the backtest filled (next
 * open vs same close, side by side) and how volatile the book was against its target. A completed
 * run whose gate rejected the candidate (the gate step succeeded with `passed: false`; the approval
 * and the promotion were skipped on their condition) is an outcome, not a failure: it reads
 * "completed — not promoted (failing bars: …)" and exits 0.
 */

/** Failing blocking bars of every gate that decided against the candidate (an outcome), by step when there are several gates. */
function rejectedBy(steps: readonly ViewStep[]): string[] | undefined {
  const gates = providers(steps, gateVerdict);
  const rejected = gates.flatMap((g) => {
    const v = gateVerdictOf(g);
    if (!v?.provided || v.verdict.passed) return [];
    const bars = v.verdict.failing.join(', ') || 'none listed';
    return [gates.length > 1 ? `${bars} [${g.stepId}]` : bars];
  });
  return rejected.length ? rejected : undefined;
}

/** The first line of the run summary: `run ID: <outcome> in <wall time>`. */
export function runHeadline(runId: string, status: string, wallMs: number, steps: readonly ViewStep[]): string {
  const rejected = status === 'succeeded' ? rejectedBy(steps) : undefined;
  const outcome = rejected ? `completed — not promoted (failing bars: ${rejected.join('; ')})` : status;
  return `run ${runId}: ${outcome} in ${formatDuration(wallMs)}`;
}

const f2 = (v: number): string => (Number.isFinite(v) ? v.toFixed(2) : 'n/a');
const pct = (v: number): string => (Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : 'n/a');

/**
 * Lines under the headline for every backtest (a step providing `backtest.returns`) whose outputs
 * carry them: the median net / gross Sharpe filled at the next open and at the same close (the
 * timing traded first, the close marked not tradable), and the realised annual vol of the book
 * against the vol target. Nothing for a backtest without those outputs.
 */
export function tradeHeadline(steps: readonly ViewStep[]): string[] {
  const all = provided(steps, backtestReturns);
  return all.flatMap((p) => {
    const at = all.length > 1 ? ` [${p.step}]` : '';
    const out: string[] = [];
    const fills = backtestOutputs.shape.fills.safeParse(p.outputs.fills);
    if (fills.success) {
      const m = fills.data.median;
      const timing = (t: 'next_open' | 'close') => {
        const notes = [t === fills.data.execution ? 'used' : '', t === 'close' ? 'not tradable' : ''].filter(Boolean);
        return `${t}${notes.length ? ` (${notes.join(', ')})` : ''} ${f2(m[t].sharpe)} net / ${f2(m[t].sharpe_gross)} gross`;
      };
      out.push(`  fills${at}: median Sharpe ${timing(fills.data.execution)}  vs  ${timing(fills.data.execution === 'close' ? 'next_open' : 'close')}`);
    }
    const vol = backtestOutputs.shape.realised_vol.safeParse(p.outputs.realised_vol);
    if (vol.success) {
      const v = vol.data;
      const target = v.target === null ? '; no vol target' : ` vs target ${pct(v.target)}${v.ratio_median === null ? '' : ` (${f2(v.ratio_median)}×)`}`;
      out.push(`  realised vol${at}: ${pct(v.median)} median over paths${target}`);
    }
    return out;
  });
}
