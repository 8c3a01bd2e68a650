import type { EnvConfig } from './config.ts';

/**
 * Exogenous state features of a decision date (do not depend on the RL policy's own actions).
 * Units: exposures in fractions of capital; factor exposures are weight-averaged cross-sectional
 * z-scores per unit gross exposure; bl_* are statistics of the baseline (multiplier 1) book's
 * realised daily net returns up to and including the decision date; dow_* is a day-of-week one-hot.
 */
export const EXO_FEATURES = [
  'score_dispersion', // cross-sectional std of the stacker's OOF scores on the date
  'gross_exposure', // Σ|w| of the baseline target weights
  'net_exposure', // Σw
  'f_mom20', // portfolio exposure to 20-day momentum z-score
  'f_rev5', // ... to 5-day return z-score
  'f_vol20', // ... to 20-day realised-vol z-score
  'f_liq20', // ... to log 20-day dollar-volume z-score
  'bl_vol', // trailing realised vol (std of daily net return, vol_window days)
  'bl_ret5', // trailing 5-day sum of daily net returns
  'bl_ret20', // trailing vol_window-day sum of daily net returns
  'turnover5', // trailing 5-day mean of Σ|Δw| (two-sided, fraction of capital)
  'cost5', // trailing 5-day mean daily cost of the baseline book
  'dow_mon',
  'dow_tue',
  'dow_wed',
  'dow_thu',
  'dow_fri',
] as const;

/** Full state vector: exogenous features, then the policy-dependent ones. */
export const STATE_FEATURES = [...EXO_FEATURES, 'drawdown', 'prev_multiplier'] as const;
export const N_EXO = EXO_FEATURES.length;
export const N_STATE = STATE_FEATURES.length;

/** Cost rates of a scaled book (fractions of capital). */
export interface CostRates {
  /** fee + half-spread per unit of traded notional. */
  linear: number;
  /** impact = impact × traded^1.5 (book-level square-root law). */
  impact: number;
  /** daily borrow per unit of short exposure. */
  borrow: number;
  /** where the rates came from: the upstream backtest's realised costs, or configs/rl.yml. */
  source: 'backtest' | 'config';
}

/**
 * The daily baseline book of one CPCV path, everything the environment needs to replay any
 * sequence of multipliers. T decision dates, A actions, E = N_EXO features.
 */
export interface PathBook {
  path: number;
  /** T decision dates (ISO yyyy-mm-dd); each has a next trading day. */
  dates: string[];
  /** [T] gross return of the multiplier-1 book from the close of date t to the next close. */
  grossNext: Float64Array;
  /** [T] short exposure Σ max(−w, 0) of the target weights of date t. */
  shortExp: Float64Array;
  /** [T·A·A] traded notional Σ_i |m_k w_{t,i} − m_j w_{t−1,i}| at index (t·A + j)·A + k. */
  turn: Float64Array;
  /** [T·E] exogenous features, row-major. */
  exo: Float64Array;
  costs: CostRates;
}

/** Where the environment is on a path: date index, previous action, own equity curve. */
export interface EnvState {
  t: number;
  prevAction: number;
  equity: number;
  peak: number;
}

/** Result of one environment step. All quantities are fractions of capital for one day. */
export interface EnvStep {
  reward: number;
  gross: number;
  cost: number;
  net: number;
  traded: number;
  ddIncrease: number;
  next: EnvState;
  /** True when the path has no further decision date. */
  done: boolean;
}

/**
 * MarketEnv: replays a baseline book with a gross-exposure multiplier chosen each day.
 *
 * Decision at the close of date t (information ≤ t): action k scales the baseline target weights
 * w_t by m_k. Reward realised at the next close:
 *   gross = m_k · G_t                         (G_t: next-day return of the multiplier-1 book)
 *   traded = Σ_i |m_k w_{t,i} − m_prev w_{t−1,i}|
 *   cost  = linear · traded + impact · traded^1.5 + borrow · m_k · short_t
 *   net   = gross − cost
 *   reward = net − drawdown_penalty · max(0, DD_{t+1} − DD_t) − turnover_penalty · traded
 * where DD is the drawdown of the environment's own (scaled) equity curve.
 * Cost approximation: fee and half-spread are linear in traded notional at the path's average rate
 * per unit traded; square-root impact is applied at book level (traded^1.5), not per name;
 * borrow scales with the multiplier. Prices are assumed unaffected by the scaled trades.
 */
export class MarketEnv {
  readonly nActions: number;

  constructor(
    readonly book: PathBook,
    readonly cfg: Pick<EnvConfig, 'actions' | 'drawdown_penalty' | 'turnover_penalty'>,
  ) {
    this.nActions = cfg.actions.length;
  }

  get length(): number {
    return this.book.dates.length;
  }

  /** Fresh state at date index t with the previous action `prevAction` and a flat equity curve. */
  reset(t: number, prevAction: number): EnvState {
    return { t, prevAction, equity: 1, peak: 1 };
  }

  /** State vector [N_STATE] (EXO_FEATURES ++ drawdown ++ prev_multiplier). */
  observe(st: EnvState, out = new Float64Array(N_STATE)): Float64Array {
    const e = this.book.exo;
    for (let j = 0; j < N_EXO; j++) out[j] = e[st.t * N_EXO + j]!;
    out[N_EXO] = 1 - st.equity / st.peak;
    out[N_EXO + 1] = this.cfg.actions[st.prevAction]!;
    return out;
  }

  /** Applies action k at date index st.t. Throws on an action outside [0, A). */
  step(st: EnvState, k: number): EnvStep {
    const A = this.nActions;
    if (!(k >= 0 && k < A && Number.isInteger(k))) throw new Error(`MarketEnv.step: action ${k} is not in [0, ${A})`);
    const b = this.book;
    const m = this.cfg.actions[k]!;
    const traded = b.turn[(st.t * A + st.prevAction) * A + k]!;
    const gross = m * b.grossNext[st.t]!;
    const cost = b.costs.linear * traded + b.costs.impact * Math.pow(traded, 1.5) + b.costs.borrow * m * b.shortExp[st.t]!;
    const net = gross - cost;
    const equity = st.equity * (1 + net);
    const peak = Math.max(st.peak, equity);
    const dd0 = 1 - st.equity / st.peak;
    const dd1 = 1 - equity / peak;
    const ddIncrease = Math.max(0, dd1 - dd0);
    const reward = net - this.cfg.drawdown_penalty * ddIncrease - this.cfg.turnover_penalty * traded;
    const t = st.t + 1;
    return { reward, gross, cost, net, traded, ddIncrease, next: { t, prevAction: k, equity, peak }, done: t >= b.dates.length };
  }
}

/** Index of `value` in the action list (exact match); throws when absent. */
export function actionIndex(actions: readonly number[], value: number): number {
  const k = actions.indexOf(value);
  if (k < 0) throw new Error(`multiplier ${value} is not one of the actions [${actions.join(', ')}]`);
  return k;
}
