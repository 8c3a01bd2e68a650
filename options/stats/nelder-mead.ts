/**
 * Nelder–Mead simplex minimiser (Nelder & Mead 1965) with the standard coefficients
 * (reflection 1, expansion 2, contraction ½, shrink ½) as in Lagarias et al. (1998), SIAM J. Optim. 9(1).
 * Unconstrained: callers map bounded parameters through a transform. Deterministic.
 */

/** Result of a minimisation. */
export interface MinimizeResult {
  x: number[];
  fx: number;
  iterations: number;
  converged: boolean;
}

/** Settings: initial step per coordinate, tolerances on the simplex's f-spread and size, iteration cap. */
export interface NelderMeadOptions {
  step?: number | number[];
  ftol?: number;
  xtol?: number;
  maxIter?: number;
}

/**
 * Minimises `f` from `x0`. Stops when max|f_i − f_best| ≤ ftol and the simplex diameter ≤ xtol,
 * or after `maxIter` iterations (converged false). Non-finite f values are treated as +∞.
 */
export function nelderMead(f: (x: number[]) => number, x0: readonly number[], opts: NelderMeadOptions = {}): MinimizeResult {
  const n = x0.length;
  const ftol = opts.ftol ?? 1e-12;
  const xtol = opts.xtol ?? 1e-10;
  const maxIter = opts.maxIter ?? 2000;
  const fx = (x: number[]) => {
    const v = f(x);
    return Number.isFinite(v) ? v : Infinity;
  };
  const step = (i: number) => (Array.isArray(opts.step) ? opts.step[i]! : (opts.step as number | undefined) ?? (x0[i] !== 0 ? 0.05 * Math.abs(x0[i]!) : 0.00025));
  let simplex: number[][] = [x0.slice()];
  for (let i = 0; i < n; i++) {
    const v = x0.slice();
    v[i] = v[i]! + step(i);
    simplex.push(v);
  }
  let values = simplex.map(fx);
  let it = 0;
  for (; it < maxIter; it++) {
    const order = values.map((_, i) => i).sort((a, b) => values[a]! - values[b]!);
    simplex = order.map((i) => simplex[i]!);
    values = order.map((i) => values[i]!);
    let diam = 0;
    for (let i = 1; i <= n; i++) for (let j = 0; j < n; j++) diam = Math.max(diam, Math.abs(simplex[i]![j]! - simplex[0]![j]!));
    if (values[n]! - values[0]! <= ftol && diam <= xtol) return { x: simplex[0]!, fx: values[0]!, iterations: it, converged: true };
    const c = new Array<number>(n).fill(0);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) c[j]! += simplex[i]![j]! / n;
    const along = (t: number) => c.map((cj, j) => cj + t * (simplex[n]![j]! - cj));
    const xr = along(-1);
    const fr = fx(xr);
    if (fr < values[0]!) {
      const xe = along(-2);
      const fe = fx(xe);
      [simplex[n], values[n]] = fe < fr ? [xe, fe] : [xr, fr];
    } else if (fr < values[n - 1]!) {
      [simplex[n], values[n]] = [xr, fr];
    } else {
      const outside = fr < values[n]!;
      const xc = along(outside ? -0.5 : 0.5);
      const fc = fx(xc);
      if (fc < (outside ? fr : values[n]!)) {
        [simplex[n], values[n]] = [xc, fc];
      } else {
        for (let i = 1; i <= n; i++) {
          simplex[i] = simplex[i]!.map((v, j) => simplex[0]![j]! + 0.5 * (v - simplex[0]![j]!));
          values[i] = fx(simplex[i]!);
        }
      }
    }
  }
  const best = values.indexOf(Math.min(...values));
  return { x: simplex[best]!, fx: values[best]!, iterations: it, converged: false };
}
