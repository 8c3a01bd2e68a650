import { NYSE_DAILY } from '../calendar/calendar.ts';
import { type MdpSolution, solveFiniteMdp } from './mdp.ts';
import type { SignalPanel } from './panel.ts';

/**
 * Optimal stopping for position exits as a finite-horizon MDP (solved by backward induction,
 * decisions/mdp.ts), compared with the fixed-horizon exit.
 *
 * Trades: on each date e, the `entryQuantile` of names with the highest signal go long and the
 * lowest go short (direction d = ±1), entered at the close of e. A trade always earns its first
 * day; after h days held (h = 1..H−1, H = `maxHoldDays`) the state is observed at the close and
 * the policy holds (earning d·fwdRet of the next day) or exits; at h = H it exits.
 * State (I × J cells, plus days held via the stage): signal-intensity bin i = quantile bin of the
 * cross-sectional |z| of the signal (z-score per date; bin edges from the training trades), and
 * signal-strength bin j of the position-aligned z, d·z: reversed (< −`strengthCut`), neutral,
 * confirming (> `strengthCut`). Estimated on training trades (entries whose last possible day is
 * before the split): reward(hold | i, j) = mean next-day d·fwdRet (bps), pooled over h;
 * P((i′, j′) | (i, j)) = transition counts + 1 (Laplace) normalised; exit = stop with 0.
 * The round-trip cost `costBps` is charged once per trade in every method (it does not change
 * with the exit day, so it is not part of the MDP).
 */
export interface ExitConfig {
  entryQuantile: number;
  intensityBins: number;
  strengthCut: number;
  maxHoldDays: number;
  fixedHoldDays: number;
  costBps: number;
  trainFraction: number;
}

/** Defaults: deciles, 3 × 3 states, up to 10 days, the nightly's 5-day horizon as the fixed rule, 11 bps round trip (configs/costs.yml: 2 × (5 half-spread + 0.5 fee)). */
export const DEFAULT_EXIT: ExitConfig = { entryQuantile: 0.1, intensityBins: 3, strengthCut: 0.5, maxHoldDays: 10, fixedHoldDays: 5, costBps: 11, trainFraction: 0.6 };

interface Trade {
  entry: number;
  sym: number;
  dir: 1 | -1;
}

/** Result of one exit rule on the test trades. */
export interface ExitStats {
  rule: string;
  trades: number;
  meanNetBps: number;
  meanHoldDays: number;
  netBpsPerPositionDay: number;
  hitRate: number;
  /** Daily equal-weight portfolio of open positions (cost on exit days), annualised on the NYSE calendar. */
  sharpe: number;
}

/** The fitted exit MDP and its test comparison. */
export interface ExitReport {
  states: { intensityEdges: number[]; strengthCut: number; labels: string[] };
  holdRewardBps: number[];
  /** Training decision days observed in each state (the reward of an unseen state is 0). */
  holdCounts: number[];
  policy: number[][];
  valueBps: number[][];
  trainTrades: number;
  splitDate: string;
  results: ExitStats[];
}

function zScores(p: SignalPanel, t: number): Float64Array {
  const z = new Float64Array(p.N).fill(NaN);
  let n = 0;
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < p.N; i++) {
    const v = p.signal[t * p.N + i]!;
    if (Number.isFinite(v)) {
      n++;
      s1 += v;
      s2 += v * v;
    }
  }
  if (n < 3) return z;
  const m = s1 / n;
  const sd = Math.sqrt(Math.max(1e-300, (s2 - n * m * m) / (n - 1)));
  for (let i = 0; i < p.N; i++) {
    const v = p.signal[t * p.N + i]!;
    if (Number.isFinite(v)) z[i] = (v - m) / sd;
  }
  return z;
}

/** Long the top and short the bottom `q` of each date's z-scores (dates with ≥ 10 usable names). */
function entries(p: SignalPanel, Z: Float64Array[], q: number): Trade[] {
  const trades: Trade[] = [];
  for (let t = 0; t < p.T; t++) {
    const z = Z[t]!;
    const ok = [...z.keys()].filter((i) => Number.isFinite(z[i]!) && Number.isFinite(p.fwdRet[t * p.N + i]!));
    if (ok.length < 10) continue;
    ok.sort((a, b) => z[a]! - z[b]!);
    const k = Math.max(1, Math.floor(q * ok.length));
    for (const i of ok.slice(0, k)) trades.push({ entry: t, sym: i, dir: -1 });
    for (const i of ok.slice(-k)) trades.push({ entry: t, sym: i, dir: 1 });
  }
  return trades;
}

/** Fits the exit MDP on the early trades of `p` and compares it with the fixed-horizon exit on the later ones. */
export function runExitStudy(p: SignalPanel, cfg: ExitConfig = DEFAULT_EXIT): ExitReport {
  const { T, N } = p;
  const H = cfg.maxHoldDays;
  if (!(H >= 2) || !(cfg.fixedHoldDays >= 1 && cfg.fixedHoldDays <= H)) throw new RangeError(`need maxHoldDays ≥ 2 and 1 ≤ fixedHoldDays ≤ maxHoldDays (got ${H}, ${cfg.fixedHoldDays})`);
  const Z = Array.from({ length: T }, (_, t) => zScores(p, t));
  const trades = entries(p, Z, cfg.entryQuantile);
  const split = Math.floor(cfg.trainFraction * T);
  const train = trades.filter((x) => x.entry + H < split);
  const test = trades.filter((x) => x.entry >= split);
  if (train.length < 100 || test.length < 100) throw new RangeError(`exit study needs ≥ 100 training and test trades (got ${train.length}, ${test.length})`);

  // Intensity edges: quantiles of |z| over the training trades' decision days.
  const absZ: number[] = [];
  for (const tr of train) for (let h = 1; h < H; h++) { const v = Z[tr.entry + h]![tr.sym]!; if (Number.isFinite(v)) absZ.push(Math.abs(v)); }
  absZ.sort((a, b) => a - b);
  const I = cfg.intensityBins;
  const J = 3;
  const edges = Array.from({ length: I - 1 }, (_, b) => absZ[Math.floor(((b + 1) * absZ.length) / I)]!);
  const stateOf = (tr: Trade, t: number): number => {
    if (t >= T) return -1;
    const z = Z[t]![tr.sym]!;
    if (!Number.isFinite(z)) return -1;
    let i = 0;
    while (i < edges.length && Math.abs(z) >= edges[i]!) i++;
    const a = tr.dir * z;
    const j = a < -cfg.strengthCut ? 0 : a > cfg.strengthCut ? 2 : 1;
    return i * J + j;
  };
  const S = I * J;
  const rSum = new Float64Array(S);
  const rN = new Float64Array(S);
  const trans = new Float64Array(S * S).fill(1);
  for (const tr of train) {
    for (let h = 1; h < H; h++) {
      const t = tr.entry + h;
      const s = stateOf(tr, t);
      const r = p.fwdRet[t * N + tr.sym]!;
      if (s < 0 || !Number.isFinite(r)) break;
      rSum[s] += tr.dir * r * 1e4;
      rN[s]++;
      const s2 = h + 1 < H ? stateOf(tr, t + 1) : -1;
      if (s2 >= 0) trans[s * S + s2]++;
    }
  }
  const reward = Array.from(rSum, (v, s) => (rN[s]! > 0 ? v / rN[s]! : 0));
  const rows = Array.from({ length: S }, (_, s) => {
    let tot = 0;
    for (let s2 = 0; s2 < S; s2++) tot += trans[s * S + s2]!;
    return Array.from({ length: S }, (_, s2) => [s2, trans[s * S + s2]! / tot] as const);
  });
  // Stages t = h − 1 for h = 1..H−1; action 0 = hold, 1 = exit.
  const sol: MdpSolution = solveFiniteMdp({
    states: S, actions: 2, horizon: H - 1,
    reward: (_t, s, a) => (a === 0 ? reward[s]! : 0),
    transitions: (t, s, a) => (a === 1 || t === H - 2 ? [] : rows[s]!),
  });
  const mdpRule = (tr: Trade, h: number) => {
    const st = stateOf(tr, tr.entry + h);
    return st < 0 || sol.policy[h - 1]![st]! === 1; // no signal → the state is unknown → exit
  };
  const results = [
    simulate(`fixed ${cfg.fixedHoldDays}-day exit`, p, test, H, cfg.costBps, (_tr, h) => h >= cfg.fixedHoldDays),
    simulate(`MDP exit (≤ ${H} days)`, p, test, H, cfg.costBps, mdpRule),
    simulate(`fixed ${H}-day exit`, p, test, H, cfg.costBps, (_tr, h) => h >= H),
  ];
  const labels = Array.from({ length: S }, (_, s) => `intensity ${Math.floor(s / J) + 1}/${I}, ${['reversed', 'neutral', 'confirming'][s % J]}`);
  return {
    states: { intensityEdges: edges, strengthCut: cfg.strengthCut, labels },
    holdRewardBps: reward,
    holdCounts: Array.from(rN),
    policy: sol.policy.map((x) => Array.from(x)),
    valueBps: sol.V.slice(0, H - 1).map((x) => Array.from(x)),
    trainTrades: train.length,
    splitDate: p.dates[split]!,
    results,
  };
}

/** Runs `exitNow(trade, daysHeld)` on every trade (exit forced at H or at missing data); trade and daily-portfolio statistics. */
function simulate(rule: string, p: SignalPanel, trades: Trade[], H: number, costBps: number, exitNow: (tr: Trade, h: number) => boolean): ExitStats {
  const { T, N } = p;
  const daySum = new Float64Array(T);
  const dayN = new Float64Array(T);
  let net = 0;
  let days = 0;
  let hits = 0;
  let n = 0;
  for (const tr of trades) {
    let ret = 0;
    let h = 0;
    for (;;) {
      const t = tr.entry + h;
      const r = t < T ? p.fwdRet[t * N + tr.sym]! : NaN;
      if (!Number.isFinite(r)) break;
      ret += tr.dir * r * 1e4;
      h++;
      const last = h >= H || exitNow(tr, h);
      daySum[t + 1] += tr.dir * r * 1e4 - (last ? costBps : 0);
      dayN[t + 1]++;
      if (last) break;
    }
    if (h === 0) continue;
    n++;
    net += ret - costBps;
    days += h;
    if (ret - costBps > 0) hits++;
  }
  const daily: number[] = [];
  for (let t = 0; t < T; t++) if (dayN[t]! > 0) daily.push(daySum[t]! / dayN[t]! / 1e4);
  const m = daily.reduce((a, v) => a + v, 0) / daily.length;
  const sd = Math.sqrt(daily.reduce((a, v) => a + (v - m) ** 2, 0) / (daily.length - 1));
  return { rule, trades: n, meanNetBps: net / n, meanHoldDays: days / n, netBpsPerPositionDay: net / days, hitRate: hits / n, sharpe: NYSE_DAILY.sharpe(m, sd) };
}
