/**
 * Optimal Number of Clusters (ONC) of trial return streams: López de Prado & Lewis (2019),
 * "Detection of false investment strategies using unsupervised learning methods", and López de
 * Prado (2019), "A data science solution to the multiple-testing crisis in financial research"
 * (the effective number of trials is the number of ONC clusters); code in López de Prado (2020),
 * *Machine Learning for Asset Managers*, ch. 4 (`clusterKMeansBase`, `clusterKMeansTop`).
 *
 * Observations are the rows of the correlation-distance matrix d_ij = √((1 − ρ_ij)/2); k-means
 * (k-means++ seeding, Lloyd iterations) is run for k = 2..K, `nInit` times each, and the partition
 * with the best quality q = mean(s)/std(s) of the silhouette scores s is kept. Clusters whose own
 * silhouette t-stat is below the average are re-clustered (recursively) and the split is accepted
 * only when it raises the average cluster t-stat. Deterministic for a given seed (rl/rng.ts).
 */
import { Rng } from '../rl/rng.ts';

/** Options of {@link onc}. */
export interface OncOptions {
  /** Largest k tried (default and ceiling: n − 1). */
  maxClusters?: number;
  /** k-means restarts per k (default 5). */
  nInit?: number;
  /** Seed of the k-means++ draws (default 7). */
  seed?: number;
}

/** A partition of n items. */
export interface OncResult {
  /** Cluster of each item, 0..k−1 numbered by first appearance. */
  labels: Int32Array;
  k: number;
  /** Silhouette score of each item under `labels` (0 for singletons, as scikit-learn). */
  silhouette: Float64Array;
  /** True when the best partition used the largest k allowed (the count may be a lower bound). */
  atCap: boolean;
}

/** Correlation distance √((1 − ρ)/2) of an n×n row-major correlation matrix (ρ clamped to [−1, 1]). */
export function correlationDistance(corr: Float64Array, n: number): Float64Array {
  const d = new Float64Array(n * n);
  for (let k = 0; k < n * n; k++) d[k] = Math.sqrt(Math.max(0, (1 - Math.max(-1, Math.min(1, corr[k]!))) / 2));
  return d;
}

const sqDist = (X: Float64Array, a: number, B: Float64Array, b: number, dim: number): number => {
  let s = 0;
  for (let j = 0; j < dim; j++) {
    const x = X[a * dim + j]! - B[b * dim + j]!;
    s += x * x;
  }
  return s;
};

/** k-means of the n rows of X (n×dim): k-means++ seeding, Lloyd iterations; an emptied centre takes the farthest row. */
export function kmeans(X: Float64Array, n: number, dim: number, k: number, rng: Rng, maxIter = 100): Int32Array {
  const C = new Float64Array(k * dim);
  const near = new Float64Array(n).fill(Infinity);
  let first = rng.int(n);
  for (let c = 0; c < k; c++) {
    C.set(X.subarray(first * dim, (first + 1) * dim), c * dim);
    let tot = 0;
    for (let i = 0; i < n; i++) {
      near[i] = Math.min(near[i]!, sqDist(X, i, C, c, dim));
      tot += near[i]!;
    }
    if (c + 1 === k) break;
    let u = rng.next() * tot;
    first = n - 1;
    for (let i = 0; i < n; i++) {
      u -= near[i]!;
      if (u < 0) {
        first = i;
        break;
      }
    }
  }
  const labels = new Int32Array(n).fill(-1);
  const counts = new Int32Array(k);
  for (let it = 0; it < maxIter; it++) {
    let moved = 0;
    for (let i = 0; i < n; i++) {
      let best = 0;
      let bd = Infinity;
      for (let c = 0; c < k; c++) {
        const dd = sqDist(X, i, C, c, dim);
        if (dd < bd) {
          bd = dd;
          best = c;
        }
      }
      if (labels[i] !== best) moved++;
      labels[i] = best;
    }
    if (moved === 0) break;
    C.fill(0);
    counts.fill(0);
    for (let i = 0; i < n; i++) {
      counts[labels[i]!]++;
      for (let j = 0; j < dim; j++) C[labels[i]! * dim + j] += X[i * dim + j]!;
    }
    for (let c = 0; c < k; c++) {
      if (counts[c]! > 0) {
        for (let j = 0; j < dim; j++) C[c * dim + j] /= counts[c]!;
        continue;
      }
      let far = 0;
      let fd = -1;
      for (let i = 0; i < n; i++) {
        const dd = sqDist(X, i, C, labels[i]!, dim);
        if (dd > fd) {
          fd = dd;
          far = i;
        }
      }
      C.set(X.subarray(far * dim, (far + 1) * dim), c * dim);
    }
  }
  return labels;
}

/** Silhouette score of each row (Euclidean distances between rows of X); 0 for members of singletons. */
export function silhouette(X: Float64Array, n: number, dim: number, labels: Int32Array, k: number): Float64Array {
  const s = new Float64Array(n);
  const size = new Int32Array(k);
  for (let i = 0; i < n; i++) size[labels[i]!]++;
  const sum = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    sum.fill(0);
    for (let j = 0; j < n; j++) if (j !== i) sum[labels[j]!] += Math.sqrt(sqDist(X, i, X, j, dim));
    const own = labels[i]!;
    if (size[own]! <= 1) continue;
    const a = sum[own]! / (size[own]! - 1);
    let b = Infinity;
    for (let c = 0; c < k; c++) if (c !== own && size[c]! > 0) b = Math.min(b, sum[c]! / size[c]!);
    const m = Math.max(a, b);
    s[i] = Number.isFinite(b) && m > 0 ? (b - a) / m : 0;
  }
  return s;
}

/** mean/std (population std, as NumPy); ±∞ or NaN when std is 0, as NumPy's division. */
function tStat(x: ArrayLike<number>): number {
  const n = x.length;
  let m = 0;
  for (let i = 0; i < n; i++) m += x[i]!;
  m /= n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (x[i]! - m) ** 2;
  const sd = Math.sqrt(v / n);
  return sd > 0 ? m / sd : m > 0 ? Infinity : m < 0 ? -Infinity : NaN;
}

/** Renumbers labels 0..k−1 by first appearance. */
function canonical(labels: Int32Array): { labels: Int32Array; k: number } {
  const map = new Map<number, number>();
  const out = new Int32Array(labels.length);
  labels.forEach((l, i) => {
    if (!map.has(l)) map.set(l, map.size);
    out[i] = map.get(l)!;
  });
  return { labels: out, k: map.size };
}

/** `clusterKMeansBase`: the best-quality k-means partition for k = 2..maxK over nInit restarts. */
function oncBase(corr: Float64Array, n: number, maxK: number, nInit: number, rng: Rng): OncResult {
  const X = correlationDistance(corr, n);
  let best: { q: number; labels: Int32Array; k: number; s: Float64Array } | null = null;
  for (let init = 0; init < nInit; init++) {
    for (let k = 2; k <= maxK; k++) {
      const c = canonical(kmeans(X, n, n, k, rng));
      const s = silhouette(X, n, n, c.labels, c.k);
      const q = tStat(s);
      if (!best || Number.isNaN(best.q) || q > best.q) best = { q, labels: c.labels, k: c.k, s };
    }
  }
  return { labels: best!.labels, k: best!.k, silhouette: best!.s, atCap: best!.k >= maxK };
}

/** Silhouette t-stat of every cluster (NaN for singletons: undefined, never re-clustered). */
function clusterTStats(r: OncResult): number[] {
  const out: number[] = [];
  for (let c = 0; c < r.k; c++) {
    const s: number[] = [];
    r.labels.forEach((l, i) => l === c && s.push(r.silhouette[i]!));
    out.push(s.length > 1 ? tStat(s) : NaN);
  }
  return out;
}

const finiteMean = (x: number[]): number => {
  const f = x.filter(Number.isFinite);
  return f.length ? f.reduce((a, b) => a + b, 0) / f.length : NaN;
};

/** The sub-matrix of `corr` on the items `idx`. */
function subCorr(corr: Float64Array, n: number, idx: number[]): Float64Array {
  const m = idx.length;
  const out = new Float64Array(m * m);
  for (let a = 0; a < m; a++) for (let b = 0; b < m; b++) out[a * m + b] = corr[idx[a]! * n + idx[b]!]!;
  return out;
}

/**
 * ONC partition of n items from their n×n row-major correlation matrix (`clusterKMeansTop`).
 * n = 1 gives one cluster; n = 2 two singletons (k-means needs k ≤ n − 1; callers that merge
 * near-identical items do so before). Throws RangeError when the matrix is not n×n.
 */
export function onc(corr: Float64Array, n: number, opts: OncOptions = {}): OncResult {
  if (corr.length !== n * n) throw new RangeError(`onc: correlation matrix has ${corr.length} cells, expected ${n}×${n}`);
  const rng = new Rng(opts.seed ?? 7);
  return oncTop(corr, n, Math.min(opts.maxClusters ?? n - 1, n - 1), opts.nInit ?? 5, rng);
}

function oncTop(corr: Float64Array, n: number, maxK: number, nInit: number, rng: Rng): OncResult {
  if (n <= 2 || maxK < 2) {
    const labels = n <= 2 ? Int32Array.from({ length: n }, (_, i) => i) : new Int32Array(n);
    return { labels, k: n <= 2 ? n : 1, silhouette: new Float64Array(n), atCap: n > 2 };
  }
  const base = oncBase(corr, n, maxK, nInit, rng);
  const ts = clusterTStats(base);
  const mean = finiteMean(ts);
  const redo = ts.map((t, c) => (t < mean ? c : -1)).filter((c) => c >= 0);
  if (redo.length <= 1) return base;
  const idx: number[] = [];
  base.labels.forEach((l, i) => redo.includes(l) && idx.push(i));
  if (idx.length <= 2) return base;
  const sub = oncTop(subCorr(corr, n, idx), idx.length, Math.min(maxK, idx.length - 1), nInit, rng);
  // keep the clusters that were fine, replace the redone ones by the sub-partition
  const merged = new Int32Array(n);
  const kept = new Map<number, number>();
  base.labels.forEach((l, i) => {
    if (!redo.includes(l)) {
      if (!kept.has(l)) kept.set(l, kept.size);
      merged[i] = kept.get(l)!;
    }
  });
  idx.forEach((i, j) => (merged[i] = kept.size + sub.labels[j]!));
  const c = canonical(merged);
  const X = correlationDistance(corr, n);
  const cand: OncResult = { labels: c.labels, k: c.k, silhouette: silhouette(X, n, n, c.labels, c.k), atCap: base.atCap || sub.atCap };
  const redoMean = finiteMean(redo.map((r) => ts[r]!));
  return finiteMean(clusterTStats(cand)) > redoMean ? cand : base;
}
