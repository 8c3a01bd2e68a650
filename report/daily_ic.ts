/**
 * Daily cross-sectional IC of a signal table, by group: for every (group, date) with ≥ 3 rows of
 * finite score and target, the Pearson IC and the Spearman rank IC (average ranks for ties), with
 * cv/metrics.ts `dailyIc` — the definitions the fits report their own ICs with. Rows are read as
 * typed columns (no JS row objects) and grouped by a counting sort when they are not already in
 * (group, date) order, so a table of millions of rows takes a second or two instead of the four
 * window partitions per row of the SQL it replaces (the report's signal summaries).
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { dailyIc, meanStd } from '../cv/metrics.ts';
import { readNumericColumns, sqlString } from '../lib/duckdb.ts';

/** The daily series of one grouping: block b is date `date[b]` of group `group[b]`, starting at input row `first[b]`. */
export interface DailySeries {
  group: Int32Array;
  date: Int32Array;
  first: Int32Array;
  ic: Float64Array;
  rankIc: Float64Array;
}

/** Mean IC, mean rank IC, sample stdev of the daily rank IC and its count, over finite values (NaN when none). */
export interface DailyStats {
  ic: number;
  rank_ic: number;
  sd: number;
  n: number;
}

/**
 * The rows of `file` (Parquet) with finite `score` and `target`, as typed columns: each of `groups`
 * (integer columns), the date (days since 1970-01-01), score and target.
 */
export async function readSignalRows(con: DuckDBConnection, file: string, groups: string[], target: string): Promise<{ groups: Int32Array[]; date: Int32Array; x: Float64Array; y: Float64Array }> {
  const g = groups.map((c) => `CAST(${c} AS INTEGER)`).join(', ');
  const { cols } = await readNumericColumns(
    con,
    `SELECT ${g}, (date - DATE '1970-01-01')::INTEGER, CAST(score AS DOUBLE), CAST(${target} AS DOUBLE) FROM read_parquet(${sqlString(file)})
     WHERE score IS NOT NULL AND ${target} IS NOT NULL AND isfinite(score) AND isfinite(${target})`,
    [...groups.map(() => 'int' as const), 'int', 'double', 'double'],
  );
  const k = groups.length;
  return { groups: cols.slice(0, k) as Int32Array[], date: cols[k] as Int32Array, x: cols[k + 1] as Float64Array, y: cols[k + 2] as Float64Array };
}

/**
 * Daily IC and rank IC of (x, y) for every (group, date) of the rows, blocks in (group, date) order.
 * Dates with < 3 rows or a constant side get NaN (cv/metrics.ts `dailyIc`, `pearson`).
 */
export function dailyByGroup(group: Int32Array, date: Int32Array, x: Float64Array, y: Float64Array): DailySeries {
  const n = group.length;
  let sorted = true;
  for (let i = 1; i < n && sorted; i++) sorted = group[i - 1]! < group[i]! || (group[i - 1] === group[i] && date[i - 1]! <= date[i]!);
  const order = sorted ? undefined : groupDateOrder(group, date);
  // gathered in (group, date) order by plain loops (TypedArray.from with a map function iterates slowly)
  let xs = x, ys = y, gs = group, ds = date;
  if (order) {
    [xs, ys, gs, ds] = [new Float64Array(n), new Float64Array(n), new Int32Array(n), new Int32Array(n)];
    for (let i = 0; i < n; i++) {
      const r = order[i]!;
      xs[i] = x[r]!;
      ys[i] = y[r]!;
      gs[i] = group[r]!;
      ds[i] = date[r]!;
    }
  }
  const starts: number[] = [];
  for (let i = 0; i < n; i++) if (i === 0 || gs[i] !== gs[i - 1] || ds[i] !== ds[i - 1]) starts.push(i);
  const blocks = Int32Array.from([...starts, n]);
  const d = dailyIc(blocks, xs, ys);
  return { group: Int32Array.from(starts, (i) => gs[i]!), date: Int32Array.from(starts, (i) => ds[i]!), first: Int32Array.from(starts, (i) => (order ? order[i]! : i)), ic: d.ic, rankIc: d.rankIc };
}

/**
 * The daily series grouped by `by` instead of by `s`'s groups, reordered from `s` without ranking
 * again, when the (by, date) blocks are exactly `s`'s blocks: `s` was computed from `rows` already in
 * (group, date) order (each block a run of rows), each block holds one value of `by`, and no
 * (by, date) pair spans two blocks (a CPCV split's test dates each lie on one path). The same
 * numbers {@link dailyByGroup} computes from the rows; undefined when the layout is otherwise.
 */
export function relabel(s: DailySeries, rows: { group: Int32Array; date: Int32Array }, by: Int32Array): DailySeries | undefined {
  const nb = s.group.length, n = by.length;
  const label = new Int32Array(nb);
  const seen = new Set<string>();
  if (nb && s.first[0] !== 0) return undefined;
  for (let b = 0; b < nb; b++) {
    const lo = s.first[b]!, hi = b + 1 < nb ? s.first[b + 1]! : n;
    if (hi <= lo) return undefined;
    for (let i = lo; i < hi; i++) {
      // the block must be a run of input rows (s from rows already in order) of one `by` value
      if (rows.group[i] !== s.group[b] || rows.date[i] !== s.date[b] || by[i] !== by[lo]) return undefined;
    }
    const key = `${by[lo]}|${s.date[b]}`;
    if (seen.has(key)) return undefined;
    seen.add(key);
    label[b] = by[lo]!;
  }
  const order = Array.from({ length: nb }, (_, b) => b).sort((a, b) => label[a]! - label[b]! || s.date[a]! - s.date[b]!);
  const pick = <T extends Int32Array | Float64Array>(v: T): T => v.map((_, k) => v[order[k]!]!) as T;
  return { group: Int32Array.from(order, (b) => label[b]!), date: pick(s.date), first: pick(s.first), ic: pick(s.ic), rankIc: pick(s.rankIc) };
}

/**
 * The row order by (group, date), the rows of one key in table order: a counting sort over the key
 * range (groups × days, O(n)); sparse group ids are first numbered densely. Throws a RangeError when
 * the dates span over 10⁶ days (not a daily table) or groups × days exceed 2²⁶.
 */
function groupDateOrder(group: Int32Array, date: Int32Array): Int32Array {
  const n = group.length;
  let g0 = Infinity, g1 = -Infinity, d0 = Infinity, d1 = -Infinity;
  for (let i = 0; i < n; i++) {
    g0 = Math.min(g0, group[i]!);
    g1 = Math.max(g1, group[i]!);
    d0 = Math.min(d0, date[i]!);
    d1 = Math.max(d1, date[i]!);
  }
  const span = d1 - d0 + 1;
  if (span > 1e6) throw new RangeError(`daily IC: the signal's dates span ${span} days; expected a daily table (date column of type DATE)`);
  let gi: (i: number) => number = (i) => group[i]! - g0;
  let nGroups = g1 - g0 + 1;
  if (nGroups * span > 4 * n + (1 << 20)) {
    const ids = [...new Set(group)].sort((a, b) => a - b);
    const dense = new Map(ids.map((g, k) => [g, k]));
    gi = (i) => dense.get(group[i]!)!;
    nGroups = ids.length;
  }
  if (nGroups * span > 1 << 26) throw new RangeError(`daily IC: ${nGroups} groups × ${span} days are too many (group by path or split)`);
  const key = (i: number) => gi(i) * span + (date[i]! - d0);
  const start = new Int32Array(nGroups * span + 1);
  for (let i = 0; i < n; i++) start[key(i) + 1]!++;
  for (let k = 0; k + 1 < start.length; k++) start[k + 1]! += start[k]!;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[start[key(i)]!++] = i;
  return order;
}

/** {@link DailyStats} of the blocks where `keep(b)` (all when omitted). */
export function dailyStats(s: DailySeries, keep?: (b: number) => boolean): DailyStats {
  const pick = (v: Float64Array) => (keep ? v.filter((_, b) => keep(b)) : v);
  const ic = meanStd(pick(s.ic)), r = meanStd(pick(s.rankIc));
  return { ic: ic.mean, rank_ic: r.mean, sd: r.std, n: r.n };
}

/** {@link DailyStats} of each group, in ascending group order. */
export function statsByGroup(s: DailySeries): Array<{ group: number } & DailyStats> {
  const ids = [...new Set(s.group)].sort((a, b) => a - b);
  return ids.map((g) => ({ group: g, ...dailyStats(s, (b) => s.group[b] === g) }));
}
