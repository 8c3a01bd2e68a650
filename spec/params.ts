/**
 * `--param name=value` overrides typed by the param's declaration. Numbers are read strictly as
 * decimal text (`-5`, `2.25`, `1e-3`): `0x10`, `0b1`, ` 7 `, `Infinity` and `1_000` are refused,
 * not silently converted.
 */
import { UserError } from '../lib/errors.ts';
import { SPEC_LIMITS } from './schema.ts';

const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;

/** A `--param` value converted to the param's declared type; throws UserError (what, value, how to fix) otherwise. */
export function coerceParam(name: string, raw: string | number | boolean, type: string, allowed?: (string | number)[]): string | number | boolean {
  const shown = typeof raw === 'string' && raw.length > 80 ? `${raw.slice(0, 80)}…` : String(raw);
  let v: string | number | boolean = raw;
  if (typeof raw === 'string') {
    if (raw.length > SPEC_LIMITS.text) throw new UserError(`param "${name}" is ${raw.length} characters long — at most ${SPEC_LIMITS.text} are accepted`);
    if (type === 'number' || type === 'integer') {
      const article = type === 'integer' ? 'an' : 'a';
      if (type === 'integer' ? !INTEGER.test(raw) : !DECIMAL.test(raw)) {
        throw new UserError(`param "${name}" must be ${article} ${type}, got "${shown}" — write it in decimal, e.g. ${type === 'integer' ? '16' : '0.25'} (no hex, spaces or _)`);
      }
      v = Number(raw);
      if (!Number.isFinite(v)) throw new UserError(`param "${name}" must be a finite ${type}, got "${shown}"`);
      if (type === 'integer' && !Number.isSafeInteger(v)) throw new UserError(`param "${name}" must be an integer between ${Number.MIN_SAFE_INTEGER} and ${Number.MAX_SAFE_INTEGER}, got "${shown}"`);
    } else if (type === 'boolean') {
      if (!['true', 'false'].includes(raw)) throw new UserError(`param "${name}" must be true or false, got "${shown}"`);
      v = raw === 'true';
    }
  }
  if (allowed && !allowed.includes(v as string | number)) throw new UserError(`param "${name}" must be one of ${allowed.join(', ')}, got ${JSON.stringify(v).slice(0, 80)}`);
  return v;
}
