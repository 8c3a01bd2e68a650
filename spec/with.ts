/**
 * A step's `with` as the kind's schema sees it, shared by `trademl validate` and the compiler (so
 * `-p` overrides are checked the same way before a run is created): command fields bound as
 * variables, params substituted, and the schema's issues minus those at values only known when
 * the step runs (a `${{ steps.… }}` reference).
 */
import type { z } from 'zod';
import { bindCommandFields } from '../kinds/builtin/command.ts';
import type { AnyStepKind } from '../kinds/types.ts';
import { findExpressions, walkStrings } from './expressions.ts';

type Path = (string | number)[];

/** `with` as pipelines.yaml wrote it, with the kind's command fields bound (kinds/builtin/command.ts). */
export function prepareWith(kind: AnyStepKind | undefined, w: Record<string, unknown>): Record<string, unknown> {
  return kind ? bindCommandFields(kind, w) : w;
}

/** Paths of string values that hold a `${{ steps.… }}` reference (known only when the step runs). */
export function runtimePaths(w: unknown): Path[] {
  const out: Path[] = [];
  walkStrings(w, (s, path) => {
    if (findExpressions(s).some((e) => e.ref?.kind === 'output')) out.push(path);
  });
  return out;
}

/** True when `path` lies at or below one of `roots`. */
export function under(path: readonly (string | number)[], roots: readonly Path[]): boolean {
  return roots.some((r) => r.every((seg, i) => path[i] === seg));
}

/**
 * The kind's schema issues for a `with` whose params are substituted, except those at or below
 * `skip` paths and at values holding run-time references. Empty when the `with` is valid.
 */
export function withIssues(kind: AnyStepKind, resolved: unknown, skip: readonly Path[] = []): { issues: z.core.$ZodIssue[]; data?: unknown } {
  const r = kind.with.safeParse(resolved);
  if (r.success) return { issues: [], data: r.data };
  const later = [...skip, ...runtimePaths(resolved)];
  const issues = r.error.issues.filter((issue) => {
    const ip = issue.path.map((x) => (typeof x === 'symbol' ? String(x) : x)) as Path;
    return !under(ip, later);
  });
  return { issues };
}
