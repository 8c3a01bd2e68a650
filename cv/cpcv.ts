/**
 * Combinatorial Purged Cross-Validation (CPCV), López de Prado, *Advances in Financial Machine
 * Learning* (2018), ch. 7 (purging, embargo) and ch. 12 (CPCV, backtest paths).
 *
 * Conventions (shared by `fit.cpcv`, `stack.oof` and their artifacts):
 * - Samples are rows of a panel sorted by (date, symbol). Each has a label interval [date, t1]
 *   (t1 = last date whose information the label uses, t1 ≥ date).
 * - The sorted unique dates are split into N contiguous groups of (nearly) equal numbers of dates.
 *   Groups, splits and paths are numbered from 1.
 * - A split picks k test groups: C(N, k) splits, in lexicographic order of their test groups.
 * - Purging (AFML ch. 7.4.1, snippet 7.1): a training sample is dropped when its label interval
 *   [date, t1] overlaps the label interval [date_j, t1_j] of ANY test sample j — not only the test
 *   group's dates: a test label reaching past its group's last date (t1_j > last date) overlaps the
 *   training labels that start after the group, and those are purged too. Per test group the
 *   union of its test intervals is [first test date, max t1_j] (every date of the group starts a test
 *   interval), so the rule is exact with one span per group. Overlap is tested on dates, for every
 *   symbol alike: a label that spans a test label leaks market-wide information (index moves, sector
 *   shocks) even when the test rows are other symbols', so purging is cross-sectional, not per symbol.
 * - Embargo: a training sample is also dropped when its date falls within `embargoBars` bars of
 *   the panel's calendar after the last bar of a test group (serial correlation of features/labels,
 *   ch. 7.4.2). Bars are the panel's sorted unique dates, so the embargo counts real sessions. The
 *   fit kinds refuse an embargo shorter than the labels' longest interval unless told otherwise.
 * - Paths: every group is a test group in C(N−1, k−1) splits; path p (1..φ) takes, for group g, the
 *   p-th of those splits (in split order). φ = C(N, k)·k/N = C(N−1, k−1) paths, each covering every
 *   sample exactly once (ch. 12.4).
 * - Walk-forward reference (path 0): for g = 2..N, train on groups 1..g−1 and test on group g, with
 *   the same purging and embargo (the embargo is then void: no training data lies after the test).
 */

/** Binomial coefficient C(n, k) (exact for the small n used here). */
export function binomial(n: number, k: number): number {
  if (k < 0 || k > n) return 0;
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return Math.round(r);
}

/** All k-subsets of {1..n}, each ascending, in lexicographic order. */
export function combinations(n: number, k: number): number[][] {
  const out: number[][] = [];
  const cur: number[] = [];
  const rec = (start: number): void => {
    if (cur.length === k) {
      out.push([...cur]);
      return;
    }
    for (let i = start; i <= n - (k - cur.length) + 1; i++) {
      cur.push(i);
      rec(i + 1);
      cur.pop();
    }
  };
  rec(1);
  return out;
}

/** A contiguous group of dates: indices into the sorted unique dates, inclusive. */
export interface DateGroup {
  group: number;
  firstIdx: number;
  lastIdx: number;
}

/**
 * Splits `nDates` sorted unique dates into `nGroups` contiguous groups whose sizes differ by at most
 * one (the first `nDates mod nGroups` groups get the extra date). Throws when nGroups > nDates.
 */
export function dateGroups(nDates: number, nGroups: number): DateGroup[] {
  if (!Number.isInteger(nGroups) || nGroups < 2) throw new RangeError(`CPCV needs at least 2 groups, got ${nGroups}`);
  if (nDates < nGroups) throw new RangeError(`CPCV: ${nDates} dates cannot form ${nGroups} groups`);
  const base = Math.floor(nDates / nGroups);
  const extra = nDates % nGroups;
  const out: DateGroup[] = [];
  let start = 0;
  for (let g = 0; g < nGroups; g++) {
    const size = base + (g < extra ? 1 : 0);
    out.push({ group: g + 1, firstIdx: start, lastIdx: start + size - 1 });
    start += size;
  }
  return out;
}

/** One CPCV split (or walk-forward fold): which groups are tested and which may be trained on. */
export interface Split {
  /** 1-based split id (walk-forward folds are numbered 1..N−1 separately). */
  split: number;
  testGroups: number[];
  /** Groups whose samples are candidates for training (before purging/embargo). */
  trainGroups: number[];
}

/** The C(N, k) CPCV splits in lexicographic order of their test groups. */
export function cpcvSplits(nGroups: number, nTestGroups: number): Split[] {
  if (!Number.isInteger(nTestGroups) || nTestGroups < 1 || nTestGroups >= nGroups) {
    throw new RangeError(`CPCV: need 1 ≤ k < N test groups, got k=${nTestGroups}, N=${nGroups}`);
  }
  const all = Array.from({ length: nGroups }, (_, i) => i + 1);
  return combinations(nGroups, nTestGroups).map((testGroups, i) => ({
    split: i + 1,
    testGroups,
    trainGroups: all.filter((g) => !testGroups.includes(g)),
  }));
}

/** Expanding-window walk-forward folds over the same groups: fold g−1 tests group g (g = 2..N). */
export function walkForwardFolds(nGroups: number): Split[] {
  const out: Split[] = [];
  for (let g = 2; g <= nGroups; g++) out.push({ split: g - 1, testGroups: [g], trainGroups: Array.from({ length: g - 1 }, (_, i) => i + 1) });
  return out;
}

/** Number of backtest paths φ = C(N, k)·k/N = C(N−1, k−1). */
export function nPaths(nGroups: number, nTestGroups: number): number {
  return binomial(nGroups - 1, nTestGroups - 1);
}

/**
 * Path assignment: `table[g-1][p-1]` = the split whose predictions for group g form part of path p.
 * Every group appears as a test group in exactly φ splits; the p-th of them (in split order) feeds path p.
 */
export function pathTable(splits: Split[], nGroups: number): number[][] {
  const table: number[][] = Array.from({ length: nGroups }, () => []);
  for (const s of splits) for (const g of s.testGroups) table[g - 1]!.push(s.split);
  const phi = table[0]!.length;
  for (const row of table) if (row.length !== phi) throw new Error('CPCV path table: groups appear in unequal numbers of splits');
  return table;
}

/** Per-sample time information the splitter needs (rows of the panel, any order). */
export interface SampleTimes {
  /** Index of the sample's date in the sorted unique dates. */
  dateIdx: Int32Array;
  /** The sample's date as a day number (e.g. days since 1970-01-01). */
  date: Int32Array;
  /** The label's end date t1 as a day number (t1 ≥ date). */
  t1: Int32Array;
}

/** Training/test membership of every sample in one split. */
export interface SplitMasks {
  /** 1 = training sample (after purging and embargo). */
  train: Uint8Array;
  /** 1 = test sample. */
  test: Uint8Array;
  nTrain: number;
  nTest: number;
  /** Candidates dropped because [date, t1] overlaps a test label interval. */
  nPurged: number;
  /** Candidates dropped by the embargo (and not already purged). */
  nEmbargoed: number;
}

/**
 * Training and test masks of `split` with purging and embargo (AFML ch. 7.4); `embargoBars` bars
 * (indices into `uniqueDates`) after each test group are embargoed. `uniqueDates` are the sorted
 * unique day numbers (dateIdx indexes them); `groups` from {@link dateGroups}. A candidate is purged
 * when [date, t1] overlaps the test label intervals of a test group, [its first test date, its
 * largest test t1] (see the module docs), and embargoed when not purged but dated within the bars
 * after a test group. Throws RangeError when a sample's t1 precedes its date.
 */
export function splitMasks(times: SampleTimes, uniqueDates: Int32Array, groups: DateGroup[], split: Split, embargoBars: number): SplitMasks {
  const n = times.dateIdx.length;
  const groupOfDate = new Int32Array(uniqueDates.length);
  for (const g of groups) for (let i = g.firstIdx; i <= g.lastIdx; i++) groupOfDate[i] = g.group;
  const isTest = new Uint8Array(groups.length + 1);
  const isTrainGroup = new Uint8Array(groups.length + 1);
  for (const g of split.testGroups) isTest[g] = 1;
  for (const g of split.trainGroups) isTrainGroup[g] = 1;
  // The union of each test group's label intervals [min date_j, max t1_j], and the embargoed
  // date-index windows after each test group.
  const lo = new Int32Array(groups.length + 1).fill(2147483647);
  const hi = new Int32Array(groups.length + 1).fill(-2147483648);
  const train = new Uint8Array(n);
  const test = new Uint8Array(n);
  let nTest = 0;
  for (let i = 0; i < n; i++) {
    const g = groupOfDate[times.dateIdx[i]!]!;
    if (!isTest[g]) continue;
    test[i] = 1;
    nTest++;
    if (times.date[i]! < lo[g]!) lo[g] = times.date[i]!;
    if (times.t1[i]! > hi[g]!) hi[g] = times.t1[i]!;
  }
  const spans = split.testGroups.map((g) => {
    const grp = groups[g - 1]!;
    return { start: lo[g]!, end: hi[g]!, embFrom: grp.lastIdx + 1, embTo: grp.lastIdx + Math.max(0, embargoBars) };
  });
  let nTrain = 0, nPurged = 0, nEmbargoed = 0;
  for (let i = 0; i < n; i++) {
    const di = times.dateIdx[i]!;
    const g = groupOfDate[di]!;
    if (isTest[g] || !isTrainGroup[g]) continue;
    const d = times.date[i]!, t1 = times.t1[i]!;
    if (t1 < d) throw new RangeError(`sample ${i}: label end t1 precedes its date`);
    let purged = false, embargoed = false;
    for (const s of spans) {
      if (d <= s.end && t1 >= s.start) purged = true;
      else if (di >= s.embFrom && di <= s.embTo) embargoed = true;
    }
    if (purged) nPurged++;
    else if (embargoed) nEmbargoed++;
    else {
      train[i] = 1;
      nTrain++;
    }
  }
  return { train, test, nTrain, nTest, nPurged, nEmbargoed };
}

/**
 * Number of rows with `train[i]` whose label interval [date, t1] overlaps the label interval of
 * some row with `test[j]` (any symbols): 0 for a correctly purged split (AFML ch. 7.4.1). Exact and
 * independent of the groups: test intervals sorted by start with a running maximum of their ends;
 * a training interval [a, b] overlaps one iff the largest end among tests starting ≤ b is ≥ a.
 * O(n log n).
 */
export function countLabelOverlaps(times: Pick<SampleTimes, 'date' | 't1'>, train: Uint8Array, test: Uint8Array): number {
  const idx: number[] = [];
  for (let j = 0; j < test.length; j++) if (test[j]) idx.push(j);
  idx.sort((a, b) => times.date[a]! - times.date[b]!);
  const starts = Int32Array.from(idx, (j) => times.date[j]!);
  const runMax = new Int32Array(idx.length);
  for (let k = 0; k < idx.length; k++) runMax[k] = Math.max(k > 0 ? runMax[k - 1]! : -2147483648, times.t1[idx[k]!]!);
  let leaks = 0;
  for (let i = 0; i < train.length; i++) {
    if (!train[i]) continue;
    // last test whose start ≤ t1_i
    let a = 0, b = starts.length;
    while (a < b) {
      const m = (a + b) >>> 1;
      if (starts[m]! <= times.t1[i]!) a = m + 1;
      else b = m;
    }
    if (a > 0 && runMax[a - 1]! >= times.date[i]!) leaks++;
  }
  return leaks;
}

/** The indices i (ascending) where mask[i] is set, in an array allocated once. */
export function maskRows(mask: Uint8Array): number[] {
  let count = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) count++;
  const rows = new Array<number>(count);
  for (let i = 0, k = 0; k < count; i++) if (mask[i]) rows[k++] = i;
  return rows;
}

/**
 * Time-ordered early-stopping split of a training set: the last `fraction` of its distinct dates
 * become the validation tail; earlier training samples whose label reaches into the tail
 * (t1 ≥ first tail date) are purged so the validation loss is not flattered by overlapping labels.
 * Returns index lists (ascending). With fewer than 20 training dates there is no tail.
 */
export function validationTail(times: SampleTimes, uniqueDates: Int32Array, train: Uint8Array, fraction: number): { fit: number[]; valid: number[] } {
  const n = train.length;
  const seen = new Uint8Array(uniqueDates.length);
  for (let i = 0; i < n; i++) if (train[i]) seen[times.dateIdx[i]!] = 1;
  const trainDates: number[] = [];
  for (let d = 0; d < seen.length; d++) if (seen[d]) trainDates.push(d);
  const nValid = Math.floor(trainDates.length * fraction);
  const fit: number[] = [];
  const valid: number[] = [];
  if (fraction <= 0 || trainDates.length < 20 || nValid < 1) {
    return { fit: maskRows(train), valid };
  }
  const firstValidIdx = trainDates[trainDates.length - nValid]!;
  const firstValidDay = uniqueDates[firstValidIdx]!;
  for (let i = 0; i < n; i++) {
    if (!train[i]) continue;
    if (times.dateIdx[i]! >= firstValidIdx) valid.push(i);
    else if (times.t1[i]! < firstValidDay) fit.push(i);
  }
  return { fit, valid };
}
