/**
 * Small readers the report uses on artifacts: artifact references, JSON that is inline or stored,
 * numbers, and tables found inside loosely shaped JSON reports.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { ArtifactRef, ArtifactStore } from '../artifacts/store.ts';

/** True for an ArtifactRef-shaped value (`uri` artifact://…, `digest`). */
export function isRef(v: unknown): v is ArtifactRef {
  return !!v && typeof v === 'object' && typeof (v as ArtifactRef).uri === 'string' && (v as ArtifactRef).uri.startsWith('artifact://') && typeof (v as ArtifactRef).digest === 'string';
}

/** A JSON output that is either inline or an artifact reference; undefined when absent or unreadable. */
export function jsonOf(store: ArtifactStore, v: unknown): unknown {
  if (v === undefined || v === null) return undefined;
  if (isRef(v)) {
    if (!store.has(v)) return undefined;
    try {
      return store.readJson(v);
    } catch {
      return undefined;
    }
  }
  if (typeof v === 'string' && v.endsWith('.json') && existsSync(v)) return JSON.parse(readFileSync(v, 'utf8'));
  return v;
}

/** A finite number (or numeric string) as a number; undefined otherwise. */
export function num(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}

/** Arrays of objects (anywhere in `value`, depth ≤ 4) whose items all have one of `idKeys` and one of `valueKeys`. */
export function findTables(value: unknown, idKeys: string[], valueKeys: string[], depth = 0, out: Array<{ key: string; rows: Record<string, unknown>[] }> = [], key = ''): Array<{ key: string; rows: Record<string, unknown>[] }> {
  if (depth > 4 || value === null || typeof value !== 'object') return out;
  if (Array.isArray(value)) {
    if (value.length && value.every((x) => x && typeof x === 'object' && idKeys.some((k) => k in x) && valueKeys.some((k) => k in x))) out.push({ key, rows: value as Record<string, unknown>[] });
    return out;
  }
  for (const [k, v] of Object.entries(value)) findTables(v, idKeys, valueKeys, depth + 1, out, k);
  return out;
}
