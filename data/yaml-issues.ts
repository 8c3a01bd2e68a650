import { existsSync, readFileSync } from 'node:fs';
import { closest } from 'fastest-levenshtein';
import { isMap, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { UserError } from '../lib/errors.ts';

/**
 * YAML positions and zod issue formatting for configuration files: every problem is reported as
 * `file:line:col field.path: what`, unions report the branch that nearly matched (not zod's bare
 * "Invalid input"), enum errors list the allowed values and unknown keys name the allowed ones.
 */

/** A parsed YAML file: its JS value, the document (for positions) and its text. */
export interface YamlFile {
  value: unknown;
  doc: Document;
  text: string;
}

/** Parses a YAML file; throws UserError naming file:line:col on a read or syntax error. */
export function readYamlFile(file: string): YamlFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UserError(`cannot read ${file}: ${(e as Error).message}`);
  }
  const doc = parseDocument(text, { prettyErrors: true, lineCounter: new LineCounter() });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    const pos = e.linePos?.[0];
    throw new UserError(`${file}${pos ? `:${pos.line}:${pos.col}` : ''}: YAML syntax error: ${e.message.split('\n')[0]} — fix the YAML syntax`);
  }
  return { value: doc.toJS(), doc, text };
}

/** `line:col` (1-based) of a text offset. */
function lineCol(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return `${line}:${offset - before.lastIndexOf('\n')}`;
}

/** `line:col` of the YAML node at path `p` (its key when it is a map entry), or of its deepest existing parent. */
export function positionOf(doc: Document, text: string, p: readonly (string | number)[]): string | undefined {
  for (let n = p.length; n >= 0; n--) {
    const node = doc.getIn(p.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    const parent = n > 0 ? (doc.getIn(p.slice(0, n - 1), true) as unknown) : doc.contents;
    let offset: number | undefined;
    if (isMap(parent)) {
      const pair = parent.items.find((it) => (it.key as { value?: unknown })?.value === p[n - 1]);
      offset = (pair?.key as { range?: [number, number, number] } | undefined)?.range?.[0];
    } else if (isSeq(parent) && node?.range) offset = node.range[0];
    if (offset === undefined && node?.range) offset = node.range[0];
    if (offset !== undefined) return lineCol(text, offset);
  }
  return undefined;
}

type Issue = z.core.$ZodIssue;

/** The issues of a union branch that got furthest (not a bare type mismatch at the union itself). */
function unionBranch(iss: Issue & { errors?: Issue[][] }): Issue[] | undefined {
  const branches = iss.errors ?? [];
  const typeOnly = (b: Issue[]) => b.length === 1 && b[0]!.code === 'invalid_type' && b[0]!.path.length === 0;
  const useful = branches.filter((b) => b.length && !typeOnly(b));
  if (!useful.length) return undefined;
  return useful.sort((a, b) => Math.max(...b.map((x) => x.path.length)) - Math.max(...a.map((x) => x.path.length)))[0];
}

/** Flattens union issues into the issues of their nearest branch, with full paths. */
function flatten(issues: readonly Issue[], prefix: PropertyKey[] = []): { path: PropertyKey[]; iss: Issue }[] {
  const out: { path: PropertyKey[]; iss: Issue }[] = [];
  for (const iss of issues) {
    const full = [...prefix, ...iss.path];
    if (iss.code === 'invalid_union') {
      const branch = unionBranch(iss as Issue & { errors?: Issue[][] });
      if (branch) {
        out.push(...flatten(branch, full));
        continue;
      }
    }
    out.push({ path: full, iss });
  }
  return out;
}

/** One issue's message, with allowed values for enums and closest allowed names for unknown keys. */
function messageOf(iss: Issue, allowedKeys: (path: PropertyKey[]) => string[] | undefined, path: PropertyKey[]): string {
  if (iss.code === 'unrecognized_keys') {
    const allowed = allowedKeys(path) ?? [];
    return iss.keys
      .map((k) => {
        const near = allowed.length ? closest(k, allowed) : undefined;
        return `unknown field "${k}"${near ? ` (did you mean "${near}"?)` : ''}`;
      })
      .join('; ') + (allowed.length ? `; allowed fields: ${allowed.join(', ')}` : '');
  }
  if (iss.code === 'invalid_union') return `${iss.message}: expected a name or a mapping (see the contract reference in data/contract-schema.ts)`;
  return iss.message;
}

/** Shape keys of the zod object reached by `path` in `schema` (through unions, optionals, arrays), for "allowed fields" hints. */
function keysAt(schema: z.ZodType, path: PropertyKey[], value: unknown): string[] | undefined {
  let cur: unknown = schema;
  let v: unknown = value;
  const unwrap = (s: unknown): unknown => {
    const def = (s as { def?: { type?: string; innerType?: unknown; options?: unknown[]; element?: unknown } })?.def;
    if (!def) return s;
    if (def.type === 'optional' || def.type === 'default' || def.type === 'nullable' || def.type === 'prefault') return unwrap(def.innerType);
    if (def.type === 'union') {
      const objs = (def.options ?? []).map(unwrap).filter((o) => (o as { def?: { type?: string } }).def?.type === 'object');
      const disc = objs.find((o) => {
        const kindField = (o as { shape?: Record<string, { def?: { values?: unknown[] } }> }).shape?.kind;
        return kindField?.def?.values?.includes((v as { kind?: unknown })?.kind);
      });
      return disc ?? objs[0] ?? s;
    }
    return s;
  };
  cur = unwrap(cur);
  for (const k of path) {
    const shape = (cur as { shape?: Record<string, unknown> }).shape;
    const def = (cur as { def?: { type?: string; element?: unknown } }).def;
    if (def?.type === 'array') cur = unwrap(def.element);
    else if (shape && typeof k === 'string') cur = unwrap(shape[k]);
    else return undefined;
    v = (v as Record<PropertyKey, unknown> | undefined)?.[k as never];
  }
  cur = unwrap(cur);
  const shape = (cur as { shape?: Record<string, unknown> }).shape;
  return shape ? Object.keys(shape) : undefined;
}

/**
 * Validates a parsed YAML value against a zod schema; throws a UserError listing every problem as
 * `file:line:col field.path: message` (at most 8). `doc` and `text` give positions.
 */
export function parseWithSchema<S extends z.ZodType>(schema: S, value: unknown, file: string, doc?: Document, text?: string): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const src = text ?? (doc && existsSync(file) ? readFileSync(file, 'utf8') : '');
  const lines = flatten(r.error.issues).slice(0, 8).map(({ path, iss }) => {
    const p = path.map((x) => (typeof x === 'symbol' ? String(x) : x)) as (string | number)[];
    const pos = doc ? positionOf(doc, src, p) : undefined;
    return `  ${file}${pos ? `:${pos}` : ''} ${p.join('.') || '(root)'}: ${messageOf(iss, (pp) => keysAt(schema, pp, value), path)}`;
  });
  throw new UserError(`invalid ${file}:\n${lines.join('\n')}`);
}
