import type { ArtifactStore } from '../artifacts/store.ts';

/** A finished step as the headline reads it. */
export interface HeadlineStep {
  id: string;
  uses: string;
  status: string;
  outputs?: Record<string, unknown>;
  error?: { message: string; type: string; details?: unknown };
}

type Bars = { id: string; value: number | null; op: string; threshold: number; pass: boolean; blocking: boolean }[];

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const f4 = (v: unknown) => (num(v) === undefined ? 'n/a' : (v as number).toFixed(4));

/**
 * The figures a run ends with (CLI summary, notes): OOF IC / rank IC / ICIR per sleeve and of the
 * stack, net Sharpe per CPCV path (annualised) and the walk-forward reference, DSR, PSR, PBO, the
 * OPE decision and the gate verdict. Reads the backtest metrics artifact for per-path figures.
 * Steps absent from the run are simply not listed. Returns label → display string, in order.
 */
export function headlineFigures(steps: HeadlineStep[], store: ArtifactStore): [string, string][] {
  const out: [string, string][] = [];
  for (const s of steps.filter((x) => x.uses === 'fit.cpcv' && x.status === 'succeeded')) {
    const o = s.outputs!;
    out.push([`OOF IC / rank IC / ICIR [${o.sleeve ?? s.id}]`, `${f4(o.mean_ic)} / ${f4(o.mean_rank_ic)} / ${f4(o.icir)}  (${o.n_splits} splits, ${o.n_paths} paths, ${o.n_trials} trials)`]);
  }
  const stack = steps.find((x) => x.uses === 'stack.oof' && x.status === 'succeeded');
  if (stack) out.push(['OOF IC / rank IC / ICIR [stack]', `${f4(stack.outputs!.mean_ic)} / ${f4(stack.outputs!.mean_rank_ic)} / ${f4(stack.outputs!.icir)}`]);
  const bt = steps.find((x) => x.uses === 'backtest.cpcv_paths' && x.status === 'succeeded');
  if (bt) {
    try {
      const m = store.readJson<{ per_path: { path: number; sharpe: number; sharpe_gross?: number; max_drawdown?: number; turnover_annual?: number }[] }>(bt.outputs!.metrics as string | { uri: string } as never);
      const cpcv = m.per_path.filter((p) => p.path > 0);
      const wf = m.per_path.find((p) => p.path === 0);
      out.push(['net Sharpe by CPCV path', cpcv.map((p) => `p${p.path} ${p.sharpe.toFixed(2)}`).join('  ')]);
      out.push(['gross Sharpe by CPCV path', cpcv.map((p) => `p${p.path} ${num(p.sharpe_gross)?.toFixed(2) ?? 'n/a'}`).join('  ')]);
      if (wf) out.push(['walk-forward net Sharpe', wf.sharpe.toFixed(2)]);
      out.push(['median max drawdown / annual turnover', `${f4(bt.outputs!.max_drawdown_median)} / ${num(bt.outputs!.turnover_annual_median)?.toFixed(1) ?? 'n/a'}×`]);
    } catch (e) {
      out.push(['net Sharpe by CPCV path', `unavailable (${String(e).split('\n')[0]})`]);
    }
  }
  const ope = steps.find((x) => x.uses === 'rl.ope' && x.status === 'succeeded');
  if (ope) out.push(['OPE (offline RL sizing)', String(ope.outputs!.decision ?? (ope.outputs!.accepted ? 'accepted' : 'rejected'))]);
  const gate = steps.find((x) => x.uses === 'gate.governance');
  if (gate) {
    const bars = ((gate.outputs?.bars ?? (gate.error?.details as { bars?: unknown } | undefined)?.bars) ?? []) as Bars;
    const bar = (id: string) => bars.find((b) => b.id === id);
    for (const id of ['dsr', 'psr', 'pbo']) {
      const b = bar(id);
      if (b) out.push([id.toUpperCase(), `${f4(b.value)} (bar ${b.op} ${b.threshold}${b.blocking ? '' : ', info'}) ${b.pass ? 'pass' : 'FAIL'}`]);
    }
    const failed = bars.filter((b) => b.blocking && !b.pass).map((b) => b.id);
    out.push(['gate verdict', gate.status === 'succeeded' ? 'PASSED — proposed for approval' : gate.status === 'failed' ? `FAILED (${failed.join(', ') || gate.error?.type}) — no approval asked, no alias changed` : gate.status]);
  }
  return out;
}
