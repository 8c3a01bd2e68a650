/**
 * Command fields: `with` fields a kind hands to a shell (shell's `run`). A `${{ }}` expression
 * written inside one never becomes command text: the compiler moves its value into an environment
 * variable of the step and the command reads the variable, quoted for the spot it sits in, so no
 * value — a param, a `-p` override, an upstream output — can add words, commands or expansions.
 * Pure (no Node imports).
 */
import type { AnyStepKind } from '../types.ts';
import { findExpressions } from '../../spec/expressions.ts';

const COMMAND_FIELDS = new WeakMap<AnyStepKind, readonly string[]>();

/** Declares which top-level `with` fields of `kind` are shell command lines. */
export function declareCommandFields<K extends AnyStepKind>(kind: K, fields: readonly string[]): K {
  COMMAND_FIELDS.set(kind, fields);
  return kind;
}

/** The command fields of a kind (empty for kinds that run no shell). */
export function commandFields(kind: AnyStepKind): readonly string[] {
  return COMMAND_FIELDS.get(kind) ?? [];
}

/** Prefix of the variables that carry values interpolated into a command. */
export const VALUE_VAR_PREFIX = 'TRADEML_VALUE_';

/** The bash quoting context at each offset of a command: what a value inserted there must close. */
type Quote = 'none' | 'single' | 'double' | 'ansi';

/** The quoting context in effect at `offset` of `cmd` (bash rules: backslashes, '…', "…", $'…'). */
export function quoteContextAt(cmd: string, offset: number): Quote {
  let q: Quote = 'none';
  for (let i = 0; i < offset; i++) {
    const c = cmd[i];
    if (q === 'single') {
      if (c === "'") q = 'none';
    } else if (q === 'ansi') {
      if (c === '\\') i++;
      else if (c === "'") q = 'none';
    } else if (q === 'double') {
      if (c === '\\') i++;
      else if (c === '"') q = 'none';
    } else if (c === '\\') i++;
    else if (c === "'") q = 'single';
    else if (c === '"') q = 'double';
    else if (c === '$' && cmd[i + 1] === "'") {
      q = 'ansi';
      i++;
    }
  }
  return q;
}

/** A reference to variable `name` that expands to exactly its value in quoting context `q`. */
function quotedRef(name: string, q: Quote): string {
  if (q === 'double') return `\${${name}}`;
  if (q === 'single') return `'"\${${name}}"'`;
  if (q === 'ansi') return `'"\${${name}}"$'`;
  return `"\${${name}}"`;
}

/** The result of {@link bindCommandValues}: the rewritten command and the variables it reads. */
export interface BoundCommand {
  command: string;
  /** Variable name → the expression text (`${{ … }}`), interpolated like any other `with` value. */
  env: Record<string, string>;
}

/**
 * Rewrites every `${{ … }}` in `command` into a quoted reference to a new variable
 * (`TRADEML_VALUE_<n>`, skipping names in `taken`) and returns the variables with the expressions
 * they take their values from. Malformed expressions are left alone (the validator reports them).
 */
export function bindCommandValues(command: string, taken: ReadonlySet<string> = new Set()): BoundCommand {
  const exprs = findExpressions(command).filter((e) => e.ref !== null);
  if (!exprs.length) return { command, env: {} };
  const env: Record<string, string> = {};
  let out = '';
  let last = 0;
  let n = 0;
  for (const e of exprs) {
    let name: string;
    do name = `${VALUE_VAR_PREFIX}${++n}`;
    while (taken.has(name));
    env[name] = command.slice(e.index, e.index + e.length);
    out += command.slice(last, e.index) + quotedRef(name, quoteContextAt(command, e.index));
    last = e.index + e.length;
  }
  return { command: out + command.slice(last), env };
}

/**
 * A step's `with` with the values in its command fields bound as variables (see
 * {@link bindCommandValues}); the variables join `with.env`. Returns `w` itself when there is
 * nothing to bind.
 */
export function bindCommandFields(kind: AnyStepKind, w: Record<string, unknown>): Record<string, unknown> {
  const fields = commandFields(kind).filter((f) => typeof w[f] === 'string');
  if (!fields.length) return w;
  if (w.env !== undefined && (w.env === null || typeof w.env !== 'object' || Array.isArray(w.env))) return w; // the kind's schema reports it
  const env: Record<string, unknown> = { ...(w.env as Record<string, unknown> | undefined) };
  const out: Record<string, unknown> = { ...w };
  let changed = false;
  for (const f of fields) {
    const bound = bindCommandValues(w[f] as string, new Set(Object.keys(env)));
    if (!Object.keys(bound.env).length) continue;
    Object.assign(env, bound.env);
    out[f] = bound.command;
    changed = true;
  }
  if (!changed) return w;
  out.env = env;
  return out;
}
