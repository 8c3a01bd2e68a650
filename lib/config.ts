/**
 * The one loader for configuration files under configs/ (training, portfolio, costs, promotion,
 * RL, audit, features): YAML parsed with source positions, validated by a zod schema, every
 * problem reported as `file:line:col: what — how to fix` in one ConfigError.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { formatDiagnostic, YamlSource, type Diagnostic } from '../spec/source.ts';
import { ConfigError } from './errors.ts';

/**
 * Reads `rel` (relative to `projectRoot`), optionally one top-level `section` of it, and parses it
 * with `schema` (defaults applied). Throws ConfigError naming the file, line and column of every
 * problem: missing file, YAML syntax, schema violations.
 */
export function loadConfig<S extends z.ZodType>(projectRoot: string, rel: string, schema: S, section?: string): z.output<S> {
  const file = path.resolve(projectRoot, rel);
  if (!existsSync(file)) throw new ConfigError(`config file ${rel} not found (looked at ${file}) — check the path in pipelines.yaml or the step's with:`);
  const src = new YamlSource(rel, readFileSync(file, 'utf8'));
  const syntax = src.syntaxDiagnostics();
  if (syntax.length) throw new ConfigError(syntax.map(formatDiagnostic).join('\n'));
  const doc = src.toJS();
  const base = section ? [section] : [];
  const body = section ? ((doc ?? {}) as Record<string, unknown>)[section] : doc;
  const r = schema.safeParse(body ?? {});
  if (r.success) return r.data;
  const diags: Diagnostic[] = r.error.issues.map((i) => {
    const p = [...base, ...i.path.map((x) => (typeof x === 'symbol' ? String(x) : x))] as (string | number)[];
    const hint = i.code === 'unrecognized_keys' ? `remove ${i.keys.join(', ')} (see the comments in ${rel} for the fields)` : `see the comments in ${rel}`;
    const at = i.code === 'unrecognized_keys' ? [...p, i.keys[0]!] : p;
    return src.at(at, `${p.join('.') || '(root)'}: ${i.message}`, hint, i.code === 'unrecognized_keys');
  });
  throw new ConfigError({ message: `invalid config ${rel}:\n${diags.map(formatDiagnostic).join('\n')}`, details: { file: rel, diagnostics: diags } });
}
