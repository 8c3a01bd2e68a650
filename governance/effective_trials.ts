/**
 * The effective number of trials and the variance of their Sharpe ratios, from the trials' own
 * tradable return streams (López de Prado 2019, "A data science solution to the multiple-testing
 * crisis in financial research"): cluster the trials on the correlation of their returns (ONC,
 * governance/onc.ts), aggregate each cluster into one representative strategy, and feed the DSR
 * (Bailey & López de Prado 2014) with N = the number of clusters and V[SR] = the variance of the
 * representatives' Sharpe ratios. Near-duplicate trials then count once instead of shrinking V[SR].
 *
 * A trial stream is the per-path daily net return of the trial traded through the candidate's
 * portfolio construction and costs; Sharpe ratios are per bar (daily), per path, aggregated over
 * the paths like the candidate's (`path_aggregate`).
 */
import { onc } from './onc.ts';
import { median, moments } from './stats.ts';

/** One trial's daily net returns by CPCV path: path → ISO date → return (fraction of capital). */
export interface TrialStream {
  id: string;
  paths: Map<number, Map<string, number>>;
}

/** How per-path figures are aggregated (promotion config `path_aggregate`). */
export type PathAggregate = 'median' | 'min' | 'mean';

/** Options of {@link effectiveTrials}. */
export interface EffectiveOptions {
  aggregate: PathAggregate;
  /** Trials whose pairwise correlations are all ≥ this form one cluster (ONC has no k = 1). */
  mergeCorrelation: number;
  /** Pairs sharing fewer observations get correlation 0 (treated as distinct: the conservative side). */
  minOverlap: number;
  maxClusters?: number;
  nInit?: number;
  seed?: number;
}

/** One cluster of trials and its representative. */
export interface TrialCluster {
  members: string[];
  /** Inverse-variance weights of the members in the representative (sum 1). */
  weights: number[];
  /** Aggregated per-path daily Sharpe ratio of the representative. */
  sr: number;
}

/** Result of {@link effectiveTrials}. */
export interface EffectiveTrials {
  /** Trials with a stream. */
  n_streams: number;
  /** Clusters = effective number of streamed trials. */
  k: number;
  clusters: TrialCluster[];
  /** Sample variance (n − 1) of the clusters' Sharpe ratios (0 with fewer than 2). */
  var_sr: number;
  /** Per trial (stream order): aggregated per-path daily Sharpe ratio. */
  trial_sr: number[];
  /** Sample variance of every trial's Sharpe ratio (the DSR input before clustering). */
  var_trial_sr: number;
  mean_correlation: number;
  /** ONC chose the largest k allowed: the count may be a lower bound. */
  at_cap: boolean;
}

/** Aggregate of the finite values (NaN when none). */
export function aggregatePaths(values: number[], how: PathAggregate): number {
  const v = values.filter(Number.isFinite);
  if (!v.length) return NaN;
  if (how === 'min') return Math.min(...v);
  if (how === 'mean') return v.reduce((a, b) => a + b, 0) / v.length;
  return median(v);
}

/** Per-bar Sharpe ratio of each path's returns, aggregated over the paths. */
export function streamSharpe(s: TrialStream, how: PathAggregate): number {
  return aggregatePaths([...s.paths.values()].map((m) => sr([...m.values()])), how);
}

const sr = (x: number[]): number => {
  const m = moments(x);
  return m.std > 0 ? m.mean / m.std : NaN;
};

/** Mean over the trial's paths of each date's return (the trial's path-averaged stream). */
export function pathMean(s: TrialStream): Map<string, number> {
  const sum = new Map<string, { s: number; c: number }>();
  for (const m of s.paths.values()) {
    for (const [d, v] of m) {
      if (!Number.isFinite(v)) continue;
      const e = sum.get(d) ?? { s: 0, c: 0 };
      e.s += v;
      e.c++;
      sum.set(d, e);
    }
  }
  return new Map([...sum.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([d, e]) => [d, e.s / e.c]));
}

/** Pearson correlation of two date-keyed series on their common dates; null below `minOverlap`. */
export function overlapCorrelation(a: Map<string, number>, b: Map<string, number>, minOverlap: number): number | null {
  const x: number[] = [];
  const y: number[] = [];
  for (const [d, v] of a) {
    const w = b.get(d);
    if (w !== undefined) {
      x.push(v);
      y.push(w);
    }
  }
  const n = x.length;
  if (n < Math.max(3, minOverlap)) return null;
  const mx = x.reduce((p, q) => p + q, 0) / n;
  const my = y.reduce((p, q) => p + q, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i]! - mx) * (y[i]! - my);
    sxx += (x[i]! - mx) ** 2;
    syy += (y[i]! - my) ** 2;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : null;
}

/** n×n correlation matrix of path-averaged streams (diagonal 1; missing/short overlaps 0). */
export function correlationMatrix(means: Map<string, number>[], minOverlap: number): Float64Array {
  const n = means.length;
  const c = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    c[i * n + i] = 1;
    for (let j = i + 1; j < n; j++) c[i * n + j] = c[j * n + i] = overlapCorrelation(means[i]!, means[j]!, minOverlap) ?? 0;
  }
  return c;
}

/**
 * The cluster's representative: the inverse-variance combination of its members' returns on each
 * path (members without the path, or without a date, drop out and the weights renormalise). IVP is
 * the intra-cluster allocation of HRP (López de Prado 2016); the 2019 paper's minimum-variance weights
 * are ill-conditioned exactly when members are near-duplicates, so IVP is used here.
 */
export function representative(members: TrialStream[], means: Map<string, number>[]): { weights: number[]; stream: TrialStream } {
  const iv = means.map((m) => {
    const s = moments([...m.values()]).std;
    return s > 0 ? 1 / (s * s) : 0;
  });
  const tot = iv.reduce((a, b) => a + b, 0);
  const weights = iv.map((v) => (tot > 0 ? v / tot : 1 / iv.length));
  const paths = new Map<number, Map<string, number>>();
  const allPaths = [...new Set(members.flatMap((m) => [...m.paths.keys()]))].sort((a, b) => a - b);
  for (const p of allPaths) {
    const acc = new Map<string, { s: number; w: number }>();
    members.forEach((m, j) => {
      for (const [d, v] of m.paths.get(p) ?? []) {
        if (!Number.isFinite(v)) continue;
        const e = acc.get(d) ?? { s: 0, w: 0 };
        e.s += weights[j]! * v;
        e.w += weights[j]!;
        acc.set(d, e);
      }
    });
    paths.set(p, new Map([...acc.entries()].filter(([, e]) => e.w > 0).map(([d, e]) => [d, e.s / e.w])));
  }
  return { weights, stream: { id: members.map((m) => m.id).join('+'), paths } };
}

const variance = (x: number[]): number => {
  const f = x.filter(Number.isFinite);
  if (f.length < 2) return 0;
  const m = f.reduce((a, b) => a + b, 0) / f.length;
  return f.reduce((a, b) => a + (b - m) ** 2, 0) / (f.length - 1);
};

/**
 * Clusters the trials (ONC on the correlation of their path-averaged streams; one cluster when every
 * pairwise correlation is ≥ `mergeCorrelation`) and returns the effective number of trials, the
 * clusters with their representatives' Sharpe ratios and V[SR] across the clusters.
 * An empty list gives k = 0.
 */
export function effectiveTrials(trials: TrialStream[], o: EffectiveOptions): EffectiveTrials {
  const n = trials.length;
  const trialSr = trials.map((t) => streamSharpe(t, o.aggregate));
  const means = trials.map(pathMean);
  const corr = correlationMatrix(means, o.minOverlap);
  let off = 0;
  let minCorr = 1;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      off += corr[i * n + j]!;
      minCorr = Math.min(minCorr, corr[i * n + j]!);
    }
  }
  const meanCorr = n > 1 ? off / ((n * (n - 1)) / 2) : 1;
  let labels: Int32Array;
  let k: number;
  let atCap = false;
  if (n === 0) return { n_streams: 0, k: 0, clusters: [], var_sr: 0, trial_sr: [], var_trial_sr: 0, mean_correlation: NaN, at_cap: false };
  if (n === 1 || minCorr >= o.mergeCorrelation) {
    labels = new Int32Array(n);
    k = 1;
  } else {
    const r = onc(corr, n, { maxClusters: o.maxClusters, nInit: o.nInit, seed: o.seed });
    labels = r.labels;
    k = r.k;
    atCap = r.atCap;
  }
  const clusters: TrialCluster[] = [];
  for (let c = 0; c < k; c++) {
    const idx = [...labels.keys()].filter((i) => labels[i] === c);
    const rep = representative(idx.map((i) => trials[i]!), idx.map((i) => means[i]!));
    clusters.push({ members: idx.map((i) => trials[i]!.id), weights: rep.weights, sr: streamSharpe(rep.stream, o.aggregate) });
  }
  return { n_streams: n, k, clusters, var_sr: variance(clusters.map((c) => c.sr)), trial_sr: trialSr, var_trial_sr: variance(trialSr), mean_correlation: meanCorr, at_cap: atCap };
}

/** The CSCV input of {@link pboMatrix}. */
export interface TrialMatrix {
  /** Row-major T×N path-averaged returns on the dates every included trial has. */
  m: Float64Array;
  T: number;
  ids: string[];
  /** Trials left out because their streams cover less than the required share of the reference dates. */
  excluded: string[];
}

/**
 * The T×N matrix of path-averaged trial returns for PBO (Bailey et al. 2015): trials covering at
 * least `minCoverage` of `refDates` (the candidate's dates) on the dates all of them share.
 */
export function pboMatrix(trials: TrialStream[], refDates: string[], minCoverage: number): TrialMatrix {
  const means = trials.map(pathMean);
  const ref = new Set(refDates);
  const keep: number[] = [];
  const excluded: string[] = [];
  means.forEach((m, i) => {
    let c = 0;
    for (const d of m.keys()) if (ref.has(d)) c++;
    if (ref.size > 0 && c / ref.size >= minCoverage) keep.push(i);
    else excluded.push(trials[i]!.id);
  });
  const dates = refDates.filter((d) => keep.every((i) => means[i]!.has(d)));
  const N = keep.length;
  const m = new Float64Array(dates.length * N);
  dates.forEach((d, t) => keep.forEach((i, j) => (m[t * N + j] = means[i]!.get(d)!)));
  return { m, T: dates.length, ids: keep.map((i) => trials[i]!.id), excluded };
}
