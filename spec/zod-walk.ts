import type { z } from 'zod';

/** Minimal view of zod v4 internals used to walk a schema by path (for messages, not validation). */
interface Def {
  type: string;
  shape?: Record<string, z.ZodType>;
  valueType?: z.ZodType;
  innerType?: z.ZodType;
  options?: z.ZodType[];
  element?: z.ZodType;
  in?: z.ZodType;
  catchall?: z.ZodType;
  entries?: Record<string, string | number>;
  values?: unknown[];
}

function def(s: z.ZodType): Def {
  return (s as unknown as { _zod: { def: Def } })._zod.def;
}

/** Strips optional/default/nullable/pipe wrappers. */
export function unwrap(s: z.ZodType): z.ZodType {
  let cur = s;
  for (let i = 0; i < 20; i++) {
    const d = def(cur);
    if ((d.type === 'optional' || d.type === 'default' || d.type === 'nullable' || d.type === 'prefault' || d.type === 'catch' || d.type === 'readonly') && d.innerType) cur = d.innerType;
    else if (d.type === 'pipe' && d.in) cur = d.in;
    else break;
  }
  return cur;
}

/** The sub-schema at `path` (object keys, record values, array elements), or undefined. */
export function schemaAt(schema: z.ZodType, path: readonly (string | number)[]): z.ZodType | undefined {
  let cur: z.ZodType | undefined = schema;
  for (const seg of path) {
    if (!cur) return undefined;
    const u = unwrap(cur);
    const d = def(u);
    if (d.type === 'object') cur = d.shape?.[String(seg)] ?? (d.catchall && def(d.catchall).type !== 'never' ? d.catchall : undefined);
    else if (d.type === 'record') cur = d.valueType;
    else if (d.type === 'array') cur = d.element;
    else if (d.type === 'union') cur = d.options?.map((o) => schemaAt(o, [seg])).find(Boolean);
    else return undefined;
  }
  return cur;
}

/** Keys an object schema at `path` allows (empty when it is not an object schema). */
export function allowedKeys(schema: z.ZodType, path: readonly (string | number)[] = []): string[] {
  const s = path.length ? schemaAt(schema, path) : schema;
  if (!s) return [];
  const u = unwrap(s);
  const d = def(u);
  if (d.type === 'object') return Object.keys(d.shape ?? {});
  if (d.type === 'union') return [...new Set((d.options ?? []).flatMap((o) => allowedKeys(o)))];
  return [];
}

/** Coarse type name of a schema (`string`, `number`, `boolean`, `object`, `array`, ...), `unknown` when open. */
export function typeName(s: z.ZodType | undefined): string {
  if (!s) return 'unknown';
  const d = def(unwrap(s));
  switch (d.type) {
    case 'int':
    case 'number':
    case 'bigint':
      return 'number';
    case 'enum':
    case 'literal':
    case 'string':
    case 'template_literal':
      return d.type === 'literal' ? 'literal' : 'string';
    case 'object':
    case 'record':
      return 'object';
    case 'union': {
      const names = new Set((d.options ?? []).map((o) => typeName(o)));
      return names.size === 1 ? [...names][0]! : 'unknown';
    }
    default:
      return d.type === 'boolean' || d.type === 'array' ? d.type : 'unknown';
  }
}

/**
 * What a schema accepts, for hints: concrete values (enum members, literals, true/false) and
 * coarse type phrases ("a string", "a list"), e.g. `true, false, on, off` for the cache setting.
 */
export function acceptedForms(s: z.ZodType | undefined): string[] {
  if (!s) return [];
  const d = def(unwrap(s));
  switch (d.type) {
    case 'union':
      return [...new Set((d.options ?? []).flatMap((o) => acceptedForms(o)))];
    case 'enum':
      return Object.values(d.entries ?? {}).map(String);
    case 'literal':
      return (d.values ?? []).map(String);
    case 'boolean':
      return ['true', 'false'];
    case 'string':
    case 'template_literal':
      return ['a string'];
    case 'int':
    case 'number':
      return ['a number'];
    case 'array':
      return ['a list'];
    case 'object':
    case 'record':
      return ['a mapping'];
    default:
      return [];
  }
}
