/**
 * `${{ ... }}` interpolation in pipelines.yaml. Pure (no Node imports).
 *   ${{ params.<name> }}                       resolved at compile time
 *   ${{ steps.<id>.outputs.<name>[.<key>…] }}  resolved when the step runs
 * A string that is exactly one expression takes the referenced value's type; otherwise the
 * expression's value is stringified into the string.
 *
 * An interpolated value is data, never interpolated again: a param value substituted at compile
 * time has its `${{` escaped as `$${{`, and the run-time pass turns `$${{` back into `${{` in the
 * same single scan that substitutes outputs (so neither a param nor an output value is re-read as
 * an expression). Write `$${{` in pipelines.yaml for a literal `${{`.
 */

export type Ref = { kind: 'param'; name: string } | { kind: 'output'; step: string; output: string; path: string[] };

/** An escaped `$${{` (group 1) or one expression (group 2: its body). */
const TOKEN = /\$(\$\{\{)|\$\{\{\s*(.*?)\s*\}\}/g;
const WHOLE = /^\$\{\{\s*(.*?)\s*\}\}$/;
const OPEN = '${{';
const ESCAPED_OPEN = '$${{';

/** Escapes `${{` in a value so that no later pass reads it as an expression. */
export function escapeExpressions(text: string): string {
  return text.includes(OPEN) ? text.split(OPEN).join(ESCAPED_OPEN) : text;
}

/** Parses one expression body (`params.x`, `steps.a.outputs.b`); returns null when malformed. */
export function parseRef(body: string): Ref | null {
  const p = /^params\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(body);
  if (p) return { kind: 'param', name: p[1]! };
  const s = /^steps\.([A-Za-z_][A-Za-z0-9_-]*)\.outputs\.([A-Za-z_][A-Za-z0-9_]*)((?:\.[A-Za-z0-9_]+)*)$/.exec(body);
  if (s) return { kind: 'output', step: s[1]!, output: s[2]!, path: s[3] ? s[3].slice(1).split('.') : [] };
  return null;
}

/** Every expression in a string (escaped `$${{` excluded): its body, parsed ref (null when malformed) and offset. */
export function findExpressions(text: string): { body: string; ref: Ref | null; index: number; length: number }[] {
  const out: { body: string; ref: Ref | null; index: number; length: number }[] = [];
  for (const m of text.matchAll(TOKEN)) {
    if (m[1] === undefined) out.push({ body: m[2]!, ref: parseRef(m[2]!), index: m.index, length: m[0].length });
  }
  return out;
}

/**
 * Offset of the first `${{` that no `}}` closes on its line (escaped `$${{` excluded), or -1.
 * Such text is neither an expression nor plain data: the validator refuses it.
 */
export function unterminatedExpression(text: string): number {
  if (!text.includes(OPEN)) return -1;
  let last = 0;
  for (const m of text.matchAll(TOKEN)) {
    const gap = text.slice(last, m.index).indexOf(OPEN);
    if (gap >= 0) return last + gap;
    last = m.index + m[0].length;
  }
  const rest = text.slice(last).indexOf(OPEN);
  return rest >= 0 ? last + rest : -1;
}

/** Visits every string leaf of a JSON value with its path. */
export function walkStrings(value: unknown, visit: (s: string, path: (string | number)[]) => void, path: (string | number)[] = []): void {
  if (typeof value === 'string') visit(value, path);
  else if (Array.isArray(value)) value.forEach((v, i) => walkStrings(v, visit, [...path, i]));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) walkStrings(v, visit, [...path, k]);
}

/**
 * Replaces expressions in every string of `value` using `lookup` (which returns the referenced
 * value or throws). Returns a new value; the input is not mutated.
 * `only` restricts substitution to one ref kind (the compiler resolves params, the executor outputs).
 * With `only: 'param'` (an early pass) substituted strings have their `${{` escaped and escapes are
 * kept; any other pass is the last one: it substitutes and unescapes `$${{` in one scan.
 */
export function interpolate(value: unknown, lookup: (ref: Ref, body: string) => unknown, only?: Ref['kind']): unknown {
  if (typeof value === 'string') {
    const early = only === 'param';
    const whole = WHOLE.exec(value);
    if (whole && !whole[1]!.includes('}}')) {
      const ref = parseRef(whole[1]!);
      if (!ref || (only && ref.kind !== only)) return value;
      const v = lookup(ref, whole[1]!);
      return early && typeof v === 'string' ? escapeExpressions(v) : v;
    }
    return value.replace(TOKEN, (m, escaped: string | undefined, body: string | undefined) => {
      if (escaped !== undefined) return early ? m : OPEN;
      const ref = parseRef(body!);
      if (!ref || (only && ref.kind !== only)) return m;
      const v = lookup(ref, body!);
      const text = typeof v === 'string' ? v : JSON.stringify(v);
      return early ? escapeExpressions(text) : text;
    });
  }
  if (Array.isArray(value)) return value.map((v) => interpolate(v, lookup, only));
  if (value && typeof value === 'object') {
    // fromEntries defines keys (a `constructor` or `__proto__` key stays plain data)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, lookup, only)]));
  }
  return value;
}

/** True when the string is exactly one `${{ … }}` expression. */
export function isWholeExpression(s: string): boolean {
  return WHOLE.test(s);
}

/** Reads `path` inside a value (`outputs.metrics.ic`); throws with the missing key named. */
export function pick(value: unknown, path: string[], what: string): unknown {
  let v = value;
  for (const key of path) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, key)) throw new Error(`${what}: no key "${key}"`);
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/**
 * Parses a step's `if:` condition: exactly one `${{ steps.<id>.outputs.<name>[.<key>…] }}`, optionally
 * negated with `!` inside the braces. Returns null when it is not of that form.
 */
export function parseCondition(text: string): { negate: boolean; ref: Extract<Ref, { kind: 'output' }> } | null {
  const m = WHOLE.exec(text.trim());
  if (!m) return null;
  const body = m[1]!.trim();
  const negate = body.startsWith('!');
  const ref = parseRef(negate ? body.slice(1).trim() : body);
  return ref && ref.kind === 'output' ? { negate, ref } : null;
}
