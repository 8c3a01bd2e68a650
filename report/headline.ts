/**
 * The headline figures a run ends with (CLI summary, notes), found by contract: every OOF signal's
 * IC, every backtest's Sharpe by path, every sizing decision and every gate's verdict.
 */
import type { ArtifactStore } from '../artifacts/store.ts';
import { signalsOof, trialsLedger } from '../contracts/research.ts';
import { backtestReturns, gateVerdict, sizingPolicy } from '../contracts/trading.ts';
import type { BacktestMetricsDoc } from './backtest.ts';
import { provided, providers, type ViewStep } from './provided.ts';
import { gateBars, gateVerdictOf } from './sections.ts';
import { signalSummary } from './signals.ts';

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const f4 = (v: unknown) => (num(v) === undefined ? 'n/a' : (v as number).toFixed(4));
const f2 = (v: unknown) => num(v)?.toFixed(2) ?? 'n/a';

type Figures = [string, string][];

async function signalFigures(steps: readonly ViewStep[], store: ArtifactStore, out: Figures): Promise<void> {
  const trials = provided(steps, trialsLedger);
  for (const p of provided(steps, signalsOof)) {
    const v = p.value;
    const name = v.components.length ? `${v.sleeve} = blend of ${v.components.join(', ')}` : v.sleeve;
    const n = trials.filter((t) => t.value.sleeve === v.sleeve).reduce((a, t) => a + t.value.n_trials, 0);
    try {
      const s = await signalSummary(store, v);
      if (s.n_dates === 0) {
        out.push([`OOF IC / rank IC / ICIR [${name}]`, `n/a: fewer than 3 names on every date, so no cross-sectional IC (${v.n_paths} paths${n ? `, ${n} trials` : ''}; a time-series signal: its report and gate judge it)`]);
        continue;
      }
      const wf = s.walk_forward ? `; walk-forward rank IC ${f4(s.walk_forward.rank_ic)}` : '';
      out.push([`OOF IC / rank IC / ICIR [${name}]`, `${f4(s.mean_ic)} / ${f4(s.mean_rank_ic)} / ${f4(s.icir)}  (${v.n_paths} paths${n ? `, ${n} trials` : ''}${wf})`]);
    } catch (e) {
      out.push([`OOF IC / rank IC / ICIR [${name}]`, `unavailable (${String(e).split('\n')[0]})`]);
    }
  }
}

function backtestFigures(steps: readonly ViewStep[], store: ArtifactStore, out: Figures): void {
  const all = provided(steps, backtestReturns);
  for (const p of all) {
    const at = all.length > 1 ? ` [${p.step}]` : '';
    try {
      const m = store.readJson<BacktestMetricsDoc>(p.value.metrics);
      const cpcv = (m.per_path ?? []).filter((x) => x.path > 0);
      const wf = m.walk_forward ?? (m.per_path ?? []).find((x) => x.path === 0);
      out.push([`net Sharpe by CPCV path${at}`, cpcv.map((x) => `p${x.path} ${f2(x.sharpe)}`).join('  ')]);
      out.push([`gross Sharpe by CPCV path${at}`, cpcv.map((x) => `p${x.path} ${f2(x.sharpe_gross)}`).join('  ')]);
      if (wf) out.push([`walk-forward net Sharpe${at}`, f2(wf.sharpe)]);
      const med = m.aggregate?.median ?? {};
      out.push([`median max drawdown / annual turnover${at}`, `${f4(med.max_drawdown)} / ${num(med.turnover_annual)?.toFixed(1) ?? 'n/a'}×`]);
    } catch (e) {
      out.push([`net Sharpe by CPCV path${at}`, `unavailable (${String(e).split('\n')[0]})`]);
    }
  }
}

function gateFigures(steps: readonly ViewStep[], out: Figures): void {
  const gates = providers(steps, gateVerdict);
  for (const g of gates) {
    const at = gates.length > 1 ? ` [${g.stepId}]` : '';
    const bars = gateBars(g) ?? [];
    for (const id of ['dsr', 'psr', 'pbo']) {
      const b = bars.find((x) => x.id === id);
      if (b) out.push([`${id.toUpperCase()}${at}`, `${f4(b.value)} (bar ${b.op} ${b.threshold}${b.blocking ? '' : ', info'}) ${b.pass === null ? 'n/a' : b.pass ? 'pass' : 'FAIL'}`]);
    }
    const v = gateVerdictOf(g);
    const failed = v ? v.verdict.failing : bars.filter((b) => b.blocking && b.pass === false).map((b) => b.id);
    const verdict =
      v?.provided && v.verdict.passed
        ? 'PASSED — proposed for approval'
        : v || g.status === 'failed'
          ? `FAILED (${failed.join(', ') || g.error?.type || 'no bars'}) — no approval asked, no alias changed`
          : g.status;
    out.push([`gate verdict${at}`, verdict]);
  }
}

/**
 * The figures a run ends with: OOF IC / rank IC / ICIR of every `signals.oof` value (from its OOF
 * table), net and gross Sharpe per CPCV path and the walk-forward reference of every
 * `backtest.returns` value (from its metrics JSON), the decision of every `sizing.policy`, and DSR,
 * PSR, PBO and the verdict of every step declaring `gate.verdict` (a failed gate too). Contracts no
 * step provides are simply not listed. Returns label → display string, in that order.
 */
export async function headlineFigures(steps: readonly ViewStep[], store: ArtifactStore): Promise<Figures> {
  const out: Figures = [];
  await signalFigures(steps, store, out);
  backtestFigures(steps, store, out);
  const sizing = provided(steps, sizingPolicy);
  for (const p of sizing) out.push([`OPE (offline RL sizing)${sizing.length > 1 ? ` [${p.step}]` : ''}`, p.value.decision]);
  gateFigures(steps, out);
  return out;
}
