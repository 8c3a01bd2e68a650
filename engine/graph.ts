/**
 * DAG utilities shared by the spec validator and the scheduler. Pure (no Node imports).
 */

/**
 * Finds a dependency cycle. `needs` maps each node to its dependencies. Returns the cycle as a
 * node list whose first and last element are equal (`[a, b, c, a]`), or null when acyclic.
 * Unknown dependencies are ignored (the validator reports them separately).
 */
export function findCycle(needs: Record<string, string[]>): string[] | null {
  const state = new Map<string, 1 | 2>(); // 1 = on stack, 2 = done
  const stack: string[] = [];
  const visit = (n: string): string[] | null => {
    state.set(n, 1);
    stack.push(n);
    for (const d of needs[n] ?? []) {
      if (!(d in needs)) continue;
      const s = state.get(d);
      if (s === 1) return [...stack.slice(stack.indexOf(d)), d];
      if (s === undefined) {
        const c = visit(d);
        if (c) return c;
      }
    }
    stack.pop();
    state.set(n, 2);
    return null;
  };
  for (const n of Object.keys(needs)) {
    if (!state.has(n)) {
      const c = visit(n);
      if (c) return c;
    }
  }
  return null;
}

/**
 * Stable topological order (Kahn): among ready nodes, declaration order wins.
 * Throws if the graph has a cycle (validate first with {@link findCycle}).
 */
export function topoSort(order: string[], needs: Record<string, string[]>): string[] {
  const indeg = new Map(order.map((n) => [n, (needs[n] ?? []).filter((d) => d in needs).length]));
  const dependents = new Map<string, string[]>(order.map((n) => [n, []]));
  for (const n of order) for (const d of needs[n] ?? []) dependents.get(d)?.push(n);
  const out: string[] = [];
  const done = new Set<string>();
  while (out.length < order.length) {
    const next = order.find((n) => !done.has(n) && indeg.get(n) === 0);
    if (next === undefined) throw new Error('cycle in step dependencies');
    done.add(next);
    out.push(next);
    for (const m of dependents.get(next) ?? []) indeg.set(m, indeg.get(m)! - 1);
  }
  return out;
}

/** All transitive dependencies of `id` (excluding itself). */
export function ancestorsOf(id: string, needs: Record<string, string[]>): Set<string> {
  const seen = new Set<string>();
  const walk = (n: string) => {
    for (const d of needs[n] ?? []) if (!seen.has(d)) { seen.add(d); walk(d); }
  };
  walk(id);
  return seen;
}

/** All transitive dependents of `id` (excluding itself). */
export function descendantsOf(id: string, needs: Record<string, string[]>): Set<string> {
  const dependents: Record<string, string[]> = {};
  for (const [n, ds] of Object.entries(needs)) for (const d of ds) (dependents[d] ??= []).push(n);
  return ancestorsOf(id, dependents);
}
