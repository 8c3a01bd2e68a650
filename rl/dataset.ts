import { writeFileSync } from 'node:fs';
import { queryRows, sqlString, withDuckDB } from '../lib/duckdb.ts';
import { StepError } from '../lib/errors.ts';
import type { DatasetConfig, EnvConfig } from './config.ts';
import { MarketEnv, N_STATE, STATE_FEATURES, actionIndex, type PathBook } from './env.ts';
import { Rng } from './rng.ts';

/**
 * Logged transitions of the behaviour policy, column-major. n transitions, F = N_STATE features.
 * `split` 0 = train, 1 = evaluation (held-out period). Evaluation transitions are cut into OPE
 * episodes of at most `horizon` consecutive days of one path (`episode` ≥ 0, `step` 0..H−1);
 * training transitions have episode = −1. `done` marks a path's last logged decision.
 */
export interface RlDataset {
  actions: number[];
  baselineAction: number;
  /** behaviour policy π_b(a) over the action buckets (state-independent softmax). */
  behaviourProbs: number[];
  featureNames: string[];
  horizon: number;
  n: number;
  path: Int32Array;
  t: Int32Array;
  date: string[];
  split: Uint8Array;
  episode: Int32Array;
  step: Int32Array;
  action: Int32Array;
  propensity: Float64Array;
  reward: Float64Array;
  done: Uint8Array;
  /** [n·F] */
  state: Float64Array;
  /** [n·F] */
  nextState: Float64Array;
}

/**
 * Behaviour policy of the log: softmax around the baseline bucket,
 * π_b(a) ∝ exp(−|m_a − m_base| / temperature). Returns probabilities summing to 1.
 */
export function behaviourProbs(actions: readonly number[], baseline: number, temperature: number): number[] {
  const e = actions.map((m) => Math.exp(-Math.abs(m - baseline) / temperature));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
}

/** Train / evaluation boundary dates chosen from the pooled decision dates. */
export interface SplitDates {
  train_end: string;
  eval_start: string;
  eval_end: string;
}

/**
 * The time split of the pooled decision dates of `books` (each path's dates from `warmup_days` on):
 * the first (1 − eval_fraction) train, then `embargo_days` dates are dropped, the rest evaluate.
 * The same split decides which dates calibrate the environment's costs (rl/book.ts), so nothing of
 * the evaluation period enters training. Throws a StepError when a split would be empty.
 */
export function splitDates(books: readonly { dates: readonly string[] }[], cfg: Pick<DatasetConfig, 'warmup_days' | 'eval_fraction' | 'embargo_days'>): SplitDates {
  const all = new Set<string>();
  for (const b of books) for (let t = cfg.warmup_days; t < b.dates.length; t++) all.add(b.dates[t]!);
  const dates = [...all].sort();
  const nTrain = Math.floor(dates.length * (1 - cfg.eval_fraction));
  const evalIdx = nTrain + cfg.embargo_days;
  if (nTrain < 1 || evalIdx >= dates.length) {
    throw new StepError(
      { message: `rl.dataset: ${dates.length} decision dates after a ${cfg.warmup_days}-day warm-up are too few for eval_fraction ${cfg.eval_fraction} and embargo_days ${cfg.embargo_days}`, type: 'RlDataError', nonRetryable: true },
    );
  }
  return { train_end: dates[nTrain - 1]!, eval_start: dates[evalIdx]!, eval_end: dates[dates.length - 1]! };
}

/**
 * Logs the behaviour policy on every path book with MarketEnv, from `warmup_days` on, starting at the
 * baseline multiplier with a flat equity curve; one continuous trajectory per path. Dates are split
 * by time: the first (1 − eval_fraction) of the pooled decision dates train, then `embargo_days`
 * dates are dropped, the rest is the evaluation period. Deterministic for a given seed.
 * Throws a StepError when a split would be empty.
 */
export function logBehaviour(books: PathBook[], env: EnvConfig, cfg: DatasetConfig): { dataset: RlDataset; split: SplitDates } {
  const kBase = actionIndex(env.actions, env.baseline_action);
  const probs = behaviourProbs(env.actions, env.baseline_action, cfg.temperature);
  const split = splitDates(books, cfg);
  const rng = new Rng(cfg.seed);
  const rows: { p: number; t: number; date: string; sp: number; a: number; r: number; done: boolean; s: Float64Array; ns: Float64Array }[] = [];
  for (const book of books) {
    const menv = new MarketEnv(book, env);
    if (book.dates.length <= cfg.warmup_days) continue;
    let st = menv.reset(cfg.warmup_days, kBase);
    while (st.t < menv.length) {
      const s = menv.observe(st);
      const a = rng.choice(probs);
      const res = menv.step(st, a);
      const date = book.dates[st.t]!;
      const sp = date <= split.train_end ? 0 : date >= split.eval_start ? 1 : 2;
      const ns = res.done ? new Float64Array(s) : menv.observe(res.next);
      if (res.done) ns[N_STATE - 1] = env.actions[a]!;
      if (sp !== 2) rows.push({ p: book.path, t: st.t, date, sp, a, r: res.reward, done: res.done, s, ns });
      st = res.next;
    }
  }
  const n = rows.length;
  const F = N_STATE;
  const ds: RlDataset = {
    actions: [...env.actions],
    baselineAction: kBase,
    behaviourProbs: probs,
    featureNames: [...STATE_FEATURES],
    horizon: cfg.horizon,
    n,
    path: new Int32Array(n),
    t: new Int32Array(n),
    date: new Array<string>(n),
    split: new Uint8Array(n),
    episode: new Int32Array(n).fill(-1),
    step: new Int32Array(n),
    action: new Int32Array(n),
    propensity: new Float64Array(n),
    reward: new Float64Array(n),
    done: new Uint8Array(n),
    state: new Float64Array(n * F),
    nextState: new Float64Array(n * F),
  };
  let ep = -1;
  let stepInEp = cfg.horizon;
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    ds.path[i] = r.p;
    ds.t[i] = r.t;
    ds.date[i] = r.date;
    ds.split[i] = r.sp;
    ds.action[i] = r.a;
    ds.propensity[i] = probs[r.a]!;
    ds.reward[i] = r.r;
    ds.done[i] = r.done ? 1 : 0;
    ds.state.set(r.s, i * F);
    ds.nextState.set(r.ns, i * F);
    if (r.sp === 1) {
      const contiguous = i > 0 && ds.split[i - 1] === 1 && ds.path[i - 1] === r.p && ds.t[i - 1] === r.t - 1;
      if (!contiguous || stepInEp >= cfg.horizon) ((ep += 1), (stepInEp = 0));
      ds.episode[i] = ep;
      ds.step[i] = stepInEp++;
    }
  }
  return { dataset: ds, split };
}

/** Indices of transitions in `split` (0 train, 1 eval). */
export function splitIndices(ds: RlDataset, split: 0 | 1): number[] {
  const out: number[] = [];
  for (let i = 0; i < ds.n; i++) if (ds.split[i] === split) out.push(i);
  return out;
}

const col = (name: string) => `"${name}"`;

/**
 * Writes the dataset as Parquet (one row per transition, ORDER BY path, t): path, date, t, split
 * ('train' | 'eval'), episode, step, action, multiplier, propensity, reward, done, s_<feature>…,
 * ns_<feature>…. Goes through a CSV with round-trip number formatting, so values are exact.
 */
export async function writeDatasetParquet(ds: RlDataset, file: string, tmpCsv: string): Promise<void> {
  const F = ds.featureNames.length;
  const header = ['path', 'date', 't', 'split', 'episode', 'step', 'action', 'multiplier', 'propensity', 'reward', 'done', ...ds.featureNames.map((f) => `s_${f}`), ...ds.featureNames.map((f) => `ns_${f}`)];
  const lines: string[] = [header.join(',')];
  for (let i = 0; i < ds.n; i++) {
    const v: (string | number)[] = [ds.path[i]!, ds.date[i]!, ds.t[i]!, ds.split[i] === 0 ? 'train' : 'eval', ds.episode[i]!, ds.step[i]!, ds.action[i]!, ds.actions[ds.action[i]!]!, ds.propensity[i]!, ds.reward[i]!, ds.done[i] ? 'true' : 'false'];
    for (let j = 0; j < F; j++) v.push(ds.state[i * F + j]!);
    for (let j = 0; j < F; j++) v.push(ds.nextState[i * F + j]!);
    lines.push(v.join(','));
  }
  writeFileSync(tmpCsv, lines.join('\n') + '\n');
  const types: Record<string, string> = { path: 'INTEGER', date: 'DATE', t: 'INTEGER', split: 'VARCHAR', episode: 'INTEGER', step: 'INTEGER', action: 'INTEGER', done: 'BOOLEAN' };
  const colTypes = header.map((h) => `${sqlString(h)}: ${sqlString(types[h] ?? 'DOUBLE')}`).join(', ');
  await withDuckDB(async (con) => {
    // one thread: DuckDB's parallel Parquet writer may cut row groups differently from run to run
    await con.run(`SET threads = 1`);
    await con.run(`COPY (SELECT * FROM read_csv(${sqlString(tmpCsv)}, header=true, columns={${colTypes}}) ORDER BY path, t)
      TO ${sqlString(file)} (FORMAT parquet)`);
  });
}

/** Reads a dataset Parquet written by {@link writeDatasetParquet}; `meta` supplies actions and probabilities. */
export async function readDatasetParquet(
  file: string,
  meta: { actions: number[]; baseline_action_index: number; behaviour_probs: number[]; feature_names: string[]; horizon: number },
): Promise<RlDataset> {
  const F = meta.feature_names.length;
  const rows = await withDuckDB(async (con) => {
    const cols = ['path', 'CAST(date AS VARCHAR) AS date', 't', `CASE split WHEN 'train' THEN 0 ELSE 1 END AS split`, 'episode', 'step', 'action', 'propensity', 'reward', 'CAST(done AS INTEGER) AS done', ...meta.feature_names.map((f) => col(`s_${f}`)), ...meta.feature_names.map((f) => col(`ns_${f}`))];
    const r = await con.runAndReadAll(`SELECT ${cols.join(', ')} FROM read_parquet(${sqlString(file)}) ORDER BY path, t`);
    return r.getRowsJS() as unknown[][];
  });
  const n = rows.length;
  const ds: RlDataset = {
    actions: meta.actions,
    baselineAction: meta.baseline_action_index,
    behaviourProbs: meta.behaviour_probs,
    featureNames: meta.feature_names,
    horizon: meta.horizon,
    n,
    path: new Int32Array(n),
    t: new Int32Array(n),
    date: new Array<string>(n),
    split: new Uint8Array(n),
    episode: new Int32Array(n),
    step: new Int32Array(n),
    action: new Int32Array(n),
    propensity: new Float64Array(n),
    reward: new Float64Array(n),
    done: new Uint8Array(n),
    state: new Float64Array(n * F),
    nextState: new Float64Array(n * F),
  };
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    ds.path[i] = Number(r[0]);
    ds.date[i] = String(r[1]);
    ds.t[i] = Number(r[2]);
    ds.split[i] = Number(r[3]);
    ds.episode[i] = Number(r[4]);
    ds.step[i] = Number(r[5]);
    ds.action[i] = Number(r[6]);
    ds.propensity[i] = Number(r[7]);
    ds.reward[i] = Number(r[8]);
    ds.done[i] = Number(r[9]);
    for (let j = 0; j < F; j++) {
      ds.state[i * F + j] = Number(r[10 + j]);
      ds.nextState[i * F + j] = Number(r[10 + F + j]);
    }
  }
  return ds;
}

/** Row count check helper used by tests and the step: number of rows of a Parquet file. */
export async function parquetRowCount(file: string): Promise<number> {
  return withDuckDB(async (con) => Number((await queryRows<{ n: number }>(con, `SELECT count(*)::INTEGER AS n FROM read_parquet(${sqlString(file)})`))[0]!.n));
}
