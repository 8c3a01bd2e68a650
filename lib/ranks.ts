/**
 * Sorting and ranking of typed arrays for the cross-sectional hot loops (rank normalisation of
 * features, the portfolio's rank → z-score base book): keys sorted with an index permuted alongside,
 * in place, no allocation, no comparator callbacks.
 */

/** Sorts keys[lo..hi] (inclusive) ascending, permuting idx alongside (quicksort + insertion sort). */
export function sortPairs(k: Float64Array, ix: Int32Array, lo: number, hi: number): void {
  while (hi - lo > 16) {
    const mid = (lo + hi) >> 1;
    if (k[mid]! < k[lo]!) swap(k, ix, mid, lo);
    if (k[hi]! < k[lo]!) swap(k, ix, hi, lo);
    if (k[hi]! < k[mid]!) swap(k, ix, hi, mid);
    const p = k[mid]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (k[i]! < p) i++;
      while (k[j]! > p) j--;
      if (i <= j) {
        swap(k, ix, i, j);
        i++;
        j--;
      }
    }
    // Recurse into the smaller side, loop on the larger: O(log n) stack.
    if (j - lo < hi - i) {
      sortPairs(k, ix, lo, j);
      lo = i;
    } else {
      sortPairs(k, ix, i, hi);
      hi = j;
    }
  }
  for (let i = lo + 1; i <= hi; i++) {
    const x = k[i]!;
    const y = ix[i]!;
    let j = i - 1;
    while (j >= lo && k[j]! > x) {
      k[j + 1] = k[j]!;
      ix[j + 1] = ix[j]!;
      j--;
    }
    k[j + 1] = x;
    ix[j + 1] = y;
  }
}

function swap(k: Float64Array, ix: Int32Array, a: number, b: number): void {
  const t = k[a]!;
  k[a] = k[b]!;
  k[b] = t;
  const u = ix[a]!;
  ix[a] = ix[b]!;
  ix[b] = u;
}

/**
 * Average ranks (0-based, ties take the mean of their positions: "fractional ranking") of the finite
 * values v[0..n) into out[0..n), using `keys` and `order` (length ≥ n) as scratch. Ties are exact
 * equality (−0 ties +0). One pair sort ({@link sortPairs}), then one pass over the sorted keys.
 */
export function averageRanksInto(v: Float64Array, n: number, keys: Float64Array, order: Int32Array, out: Float64Array): void {
  for (let i = 0; i < n; i++) {
    keys[i] = v[i]!;
    order[i] = i;
  }
  if (n > 1) sortPairs(keys, order, 0, n - 1);
  let a = 0;
  while (a < n) {
    let e = a + 1;
    while (e < n && keys[e] === keys[a]) e++;
    const r = (a + e - 1) / 2;
    for (let q = a; q < e; q++) out[order[q]!] = r;
    a = e;
  }
}
