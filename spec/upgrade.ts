/**
 * Upgrades a compiled plan of an older format to the current one, so runs parked by older code
 * (a Temporal workflow waiting days at an approval, an embedded run awaiting resume) continue.
 * Format 1 → 2: approval steps become control steps (timeout from `with.timeout`, default 72h,
 * `show` from `with.show`); steps get empty input bindings and provided contracts (format-1 kinds
 * found their inputs themselves). Pure (part of the workflow bundle).
 */
import { PLAN_FORMAT, type Plan, type PlanStep } from '../engine/plan.ts';
import { parseDuration } from '../lib/duration.ts';

/** The approval timeout format-1 plans defaulted to. */
const FORMAT1_APPROVAL_TIMEOUT = '72h';

/** The plan in the current format (returned as is when already current). Throws on an unknown format. */
export function upgradePlan(plan: Plan | (Omit<Plan, 'format'> & { format: number })): Plan {
  if (plan.format === PLAN_FORMAT) return plan as Plan;
  if (plan.format !== 1) throw new Error(`plan format ${plan.format} is not known to this TradeML (it reads ${PLAN_FORMAT} and upgrades 1)`);
  const steps = plan.steps.map((s): PlanStep => {
    const base = { ...s, inputs: s.inputs ?? {}, provides: s.provides ?? {} };
    if (s.uses !== 'approval') return base;
    const w = s.with as { timeout?: unknown; show?: unknown; instructions?: unknown };
    return {
      ...base,
      control: {
        type: 'approval',
        timeout_ms: parseDuration(typeof w.timeout === 'string' ? w.timeout : FORMAT1_APPROVAL_TIMEOUT),
        show: Array.isArray(w.show) ? w.show.filter((x): x is string => typeof x === 'string') : [],
        instructions: typeof w.instructions === 'string' ? w.instructions : '',
      },
    };
  });
  // the digest stays the one the plan was started with: it identifies the run's plan
  return { ...(plan as Plan), format: PLAN_FORMAT, steps };
}
