/**
 * zod issues as located diagnostics: one message and one "how to fix" hint per problem, at the
 * offending node of pipelines.yaml (unknown keys at the key, with the closest allowed key).
 */
import type { z } from 'zod';
import { DURATION_RE } from '../lib/duration.ts';
import { type Diagnostic, type YamlSource } from './source.ts';
import { suggest } from './suggest.ts';
import { acceptedForms, allowedKeys, schemaAt } from './zod-walk.ts';

type Path = (string | number)[];

/** The value at `path` inside `value` (undefined when absent). */
export function valueAt(value: unknown, path: Path): unknown {
  let v = value;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[seg];
  }
  return v;
}

/** A value as the message shows it: `"tpu"`, `-2`, `a list`, `a mapping`. */
function show(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'a mapping';
  return JSON.stringify(v);
}

/** Turns one zod issue into located diagnostics (unknown keys get one each, with suggestions). */
export function issueToDiagnostics(src: YamlSource, schema: z.ZodType, issue: z.core.$ZodIssue, base: Path, value: unknown, what?: string): Diagnostic[] {
  const ip = issue.path.map((x) => (typeof x === 'symbol' ? String(x) : x)) as Path;
  const full = [...base, ...ip];
  const label = what ? `${what}${ip.length ? '.' + ip.join('.') : ''}` : full.join('.');
  const input = valueAt(value, ip);
  const diag = (message: string, hint: string) => [src.at(full, `${label}: ${message}`, hint)];
  switch (issue.code) {
    case 'unrecognized_keys': {
      const allowed = allowedKeys(schema, ip);
      return issue.keys.map((k) => src.at([...full, k], `unknown key "${k}" in ${label || 'the document'}`, suggest(k, allowed, 'allowed keys'), true));
    }
    case 'invalid_type':
      if (input === undefined) {
        const parent = full.slice(0, -1);
        const lbl = what ? `${what}${ip.length > 1 ? '.' + ip.slice(0, -1).join('.') : ''}` : parent.join('.') || 'the document';
        return [src.at(parent, `missing required "${String(full.at(-1))}" in ${lbl}`, `add ${String(full.at(-1))}: <${issue.expected}>`)];
      }
      return diag(
        `expected ${issue.expected}, got ${typeof input === 'object' ? show(input) : `${typeof input} ${show(input)}`}`,
        issue.expected === 'string' && (typeof input === 'number' || typeof input === 'boolean')
          ? `put the value in quotes: "${String(input)}"`
          : issue.expected === 'number' && typeof input === 'string' && input.trim() !== '' && Number.isFinite(Number(input))
            ? `remove the quotes: ${input.trim()}`
            : `use a ${issue.expected}`,
      );
    case 'invalid_value': {
      const allowed = issue.values.map(String);
      const close = suggest(String(input), allowed);
      return diag(`invalid value ${show(input)}`, `${close.startsWith('did you mean') ? `${close} ` : ''}use one of: ${allowed.join(', ')}`);
    }
    case 'invalid_union': {
      const forms = acceptedForms(schemaAt(schema, ip));
      const hint = !forms.length ? 'see docs/pipelines-reference.md for the accepted forms' : forms.every((f) => f.startsWith('a ')) ? `use ${forms.join(' or ')}` : `use one of: ${forms.join(', ')}`;
      return diag(`invalid value ${show(input)}`, hint);
    }
    case 'invalid_format':
      if (issue.pattern === DURATION_RE.source || /duration/.test(issue.message)) {
        return diag(`bad duration ${show(input)}`, 'use a number and a unit: 500ms, 10s, 30m, 72h or 7d');
      }
      return diag(issue.message, issue.pattern ? `the value must match ${issue.pattern.startsWith('/') ? issue.pattern : `/${issue.pattern}/`}` : `use a valid ${issue.format}`);
    case 'too_small':
    case 'too_big': {
      const small = issue.code === 'too_small';
      const bound = small ? issue.minimum : issue.maximum;
      const op = `${small ? '>' : '<'}${issue.inclusive ? '=' : ''}`;
      if (issue.origin === 'string') return diag(small && Number(bound) <= 1 ? 'must not be empty' : issue.message, small ? `give at least ${bound} character(s)` : `use at most ${bound} characters`);
      if (issue.origin === 'array') return diag(issue.message, `give ${small ? 'at least' : 'at most'} ${bound} item(s)`);
      return diag(`must be ${op} ${bound}, got ${show(input)}`, `use a number ${op} ${bound}`);
    }
    case 'invalid_key': {
      // a record key refused by its own schema: names carry their own message; other keys are labelled
      const inner = issue.issues[0];
      const hint = inner && inner.code === 'custom' ? (inner.params as { hint?: string } | undefined)?.hint : undefined;
      if (hint) return [src.at(full, inner!.message, hint, true)];
      const parentLabel = what ? `${what}${ip.length > 1 ? '.' + ip.slice(0, -1).join('.') : ''}` : full.slice(0, -1).join('.');
      return [src.at(full, `${parentLabel}: bad key "${String(full.at(-1))}": ${inner?.message ?? issue.message}`, 'rename the key', true)];
    }
    case 'custom': {
      const hint = (issue.params as { hint?: string } | undefined)?.hint;
      return diag(issue.message, hint ?? 'see docs/pipelines-reference.md');
    }
    default:
      return diag(issue.message, 'see docs/pipelines-reference.md');
  }
}
