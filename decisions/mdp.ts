/**
 * Finite-horizon Markov decision processes solved by backward induction — value iteration over
 * stages (Bellman 1957; Puterman 1994, *Markov Decision Processes*, §4.5):
 *   V_H(s) = terminal(s),
 *   Q_t(s, a) = r_t(s, a) + β · Σ_{s′} P_t(s′ | s, a) · V_{t+1}(s′),
 *   V_t(s) = max_a Q_t(s, a),  π_t(s) = argmax_a Q_t(s, a) (lowest action index on ties).
 * Transition rows may sum to less than 1: the missing mass ends the process with value 0 (an
 * absorbing stop, e.g. "exit"). Stage-dependent rewards and transitions are allowed.
 */
export interface FiniteMdp {
  states: number;
  actions: number;
  /** Number of decision stages H (t = 0..H−1). */
  horizon: number;
  /** Expected immediate reward of action a in state s at stage t. */
  reward(t: number, s: number, a: number): number;
  /** Next-state distribution [(s′, p)], Σp ≤ 1 (the rest terminates with value 0). */
  transitions(t: number, s: number, a: number): readonly (readonly [number, number])[];
  /** V_H(s); default 0. */
  terminal?(s: number): number;
  /** Discount β per stage; default 1. */
  discount?: number;
}

/** Solution: V[t][s], Q[t][s·A + a], π[t][s] for t = 0..H−1 (V also at t = H). */
export interface MdpSolution {
  V: Float64Array[];
  Q: Float64Array[];
  policy: Int32Array[];
}

/** Solves `m` by backward induction. Throws RangeError for a transition to an unknown state or a row summing above 1. */
export function solveFiniteMdp(m: FiniteMdp): MdpSolution {
  const { states: S, actions: A, horizon: H } = m;
  if (!(S >= 1 && A >= 1 && H >= 1)) throw new RangeError(`MDP needs ≥ 1 state, action and stage (got ${S}, ${A}, ${H})`);
  const beta = m.discount ?? 1;
  const V: Float64Array[] = new Array(H + 1);
  const Q: Float64Array[] = new Array(H);
  const policy: Int32Array[] = new Array(H);
  V[H] = Float64Array.from({ length: S }, (_, s) => (m.terminal ? m.terminal(s) : 0));
  for (let t = H - 1; t >= 0; t--) {
    const q = new Float64Array(S * A);
    const v = new Float64Array(S);
    const pi = new Int32Array(S);
    const next = V[t + 1]!;
    for (let s = 0; s < S; s++) {
      let best = -Infinity;
      for (let a = 0; a < A; a++) {
        let cont = 0;
        let mass = 0;
        for (const [s2, p] of m.transitions(t, s, a)) {
          if (!(s2 >= 0 && s2 < S)) throw new RangeError(`stage ${t}, state ${s}, action ${a}: transition to unknown state ${s2}`);
          cont += p * next[s2]!;
          mass += p;
        }
        if (mass > 1 + 1e-9) throw new RangeError(`stage ${t}, state ${s}, action ${a}: transition probabilities sum to ${+mass.toPrecision(6)} > 1`);
        const val = m.reward(t, s, a) + beta * cont;
        q[s * A + a] = val;
        if (val > best) {
          best = val;
          pi[s] = a;
        }
      }
      v[s] = best;
    }
    V[t] = v;
    Q[t] = q;
    policy[t] = pi;
  }
  return { V, Q, policy };
}

/**
 * Infinite-horizon discounted value iteration V ← max_a (r(s,a) + β·Σ P(s′|s,a)V(s′)) until
 * max|ΔV| < tol·(1 − β)/(2β) (Puterman §6.3: the greedy policy is then tol-optimal). β ∈ [0, 1).
 * `reward`/`transitions` are stage-independent (called with t = 0). Throws when it does not converge.
 */
export function valueIteration(m: Omit<FiniteMdp, 'horizon'>, beta: number, tol = 1e-10, maxIter = 100_000): { V: Float64Array; policy: Int32Array; iterations: number } {
  if (!(beta >= 0 && beta < 1)) throw new RangeError(`discount β must be in [0, 1), got ${beta}`);
  const { states: S, actions: A } = m;
  let V = new Float64Array(S);
  const policy = new Int32Array(S);
  const eps = beta > 0 ? (tol * (1 - beta)) / (2 * beta) : tol;
  for (let it = 1; it <= maxIter; it++) {
    const nv = new Float64Array(S);
    let delta = 0;
    for (let s = 0; s < S; s++) {
      let best = -Infinity;
      for (let a = 0; a < A; a++) {
        let cont = 0;
        for (const [s2, p] of m.transitions(0, s, a)) cont += p * V[s2]!;
        const val = m.reward(0, s, a) + beta * cont;
        if (val > best) {
          best = val;
          policy[s] = a;
        }
      }
      nv[s] = best;
      delta = Math.max(delta, Math.abs(best - V[s]!));
    }
    V = nv;
    if (delta < eps) return { V, policy, iterations: it };
  }
  throw new RangeError(`value iteration did not converge in ${maxIter} sweeps`);
}
