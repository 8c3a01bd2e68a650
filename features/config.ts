import { NYSE_DAILY } from '../calendar/calendar.ts';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { UserError } from '../lib/errors.ts';
import { sha256 } from '../lib/hash.ts';
import type { Normalization } from './normalize.ts';

/**
 * Feature-set configuration (`configs/features/<set>.yml`) and the catalogue of feature kinds.
 *
 * Conventions used by every definition below:
 * - "trading days" are rows of the symbol: a window of w days is the symbol's last w rows up to and
 *   including the row's date (a symbol missing a date in the data simply has no row for it).
 * - r_t = ln(C_t / C_{t−1}) is the daily close-to-close log return of the symbol.
 * - A window feature is NULL until its window is complete (warm-up) and NULL when any input in the
 *   window is missing; it is never zero-filled.
 */

/** Every feature kind the equities feature set knows. */
export const FEATURE_KINDS = [
  'momentum',
  'realized_vol',
  'adv',
  'dow_sin',
  'dow_cos',
  'zscore_close',
  'bollinger',
  'gap',
  'gap_mean',
  'drawdown',
  'beta',
] as const;
export type FeatureKind = (typeof FEATURE_KINDS)[number];

/** A feature computed in TypeScript over a symbol's rows (features/rolling.ts), not in SQL. */
export type TsSpec =
  | { op: 'std'; input: 'lr'; window: number; scale: number }
  | { op: 'mean'; input: 'dv' | 'gap'; window: number; log: boolean }
  | { op: 'z'; input: 'close'; window: number; k: number; population: boolean }
  | { op: 'beta'; window: number }
  | { op: 'drawdown'; input: 'close'; window: number };

interface KindInfo {
  /** Column-name prefix; the name is `<prefix>_<window>` for windowed kinds. */
  prefix: string;
  windowed: boolean;
  /** Rows of history a value needs (including the row itself) given the window. */
  warmup(window: number): number;
  definition(window: number, annualisation: number): string;
  /**
   * Either a SQL expression over the `base` relation (columns date, symbol, open, high, low, close,
   * volume, lr = r_t, gap; window `w` = the symbol's rows by date, `w<n>` = its last n rows), used for
   * what SQL computes exactly and point-in-time (lags, calendar) …
   */
  sql?: (window: number, annualisation: number) => string;
  /**
   * … or a trailing-window statistic computed in TypeScript (rolling.ts): windowed means, standard
   * deviations and regressions, which DuckDB's segment-tree windows would not reproduce bit-exactly on
   * truncated data, and the rolling max (a monotonic deque: O(n), where DuckDB's year-long window max
   * cost ~0.4 s CPU on the full panel).
   */
  ts?: (window: number, annualisation: number) => TsSpec;
}

/**
 * The catalogue. Formulas: standard technical definitions (momentum and realised volatility as in
 * e.g. Jegadeesh & Titman 1993, Andersen et al. 2003; Bollinger 2001; CAPM beta by OLS on the
 * equal-weight universe return).
 */
export const KINDS: Record<FeatureKind, KindInfo> = {
  momentum: {
    prefix: 'mom',
    windowed: true,
    warmup: (w) => w + 1,
    definition: (w) => `log return over ${w} trading days: ln(C_t / C_{t-${w}})`,
    sql: (w) => `CASE WHEN close > 0 AND lag(close, ${w}) OVER w > 0 THEN ln(close / lag(close, ${w}) OVER w) END`,
  },
  realized_vol: {
    prefix: 'rvol',
    windowed: true,
    warmup: (w) => w + 1,
    definition: (w, a) => `realised volatility: sample std (n-1) of the last ${w} daily log returns r_t = ln(C_t/C_{t-1}), annualised by sqrt(${a})`,
    ts: (w, a) => ({ op: 'std', input: 'lr', window: w, scale: Math.sqrt(a) }),
  },
  adv: {
    prefix: 'adv',
    windowed: true,
    warmup: (w) => w,
    definition: (w) => `ln of the mean dollar volume (close * volume, USD) over the last ${w} trading days`,
    ts: (w) => ({ op: 'mean', input: 'dv', window: w, log: true }),
  },
  dow_sin: {
    prefix: 'dow_sin',
    windowed: false,
    warmup: () => 1,
    definition: () => `sin(2*pi*d/5), d = ISO weekday - 1 (Monday 0 .. Friday 4)`,
    sql: () => `sin(2 * pi() * (isodow(date) - 1) / 5)`,
  },
  dow_cos: {
    prefix: 'dow_cos',
    windowed: false,
    warmup: () => 1,
    definition: () => `cos(2*pi*d/5), d = ISO weekday - 1 (Monday 0 .. Friday 4)`,
    sql: () => `cos(2 * pi() * (isodow(date) - 1) / 5)`,
  },
  zscore_close: {
    prefix: 'zclose',
    windowed: true,
    warmup: (w) => w,
    definition: (w) => `rolling z-score of the close: (C_t - mean(C)) / std_samp(C) over the last ${w} trading days`,
    ts: (w) => ({ op: 'z', input: 'close', window: w, k: 1, population: false }),
  },
  bollinger: {
    prefix: 'boll',
    windowed: true,
    warmup: (w) => w,
    definition: (w) =>
      `distance to the Bollinger bands: (C_t - MA${w}) / (2 * sigma${w}), sigma = population std of the close over the last ${w} trading days (Bollinger's convention); +-1 = on the upper/lower band`,
    ts: (w) => ({ op: 'z', input: 'close', window: w, k: 2, population: true }),
  },
  gap: {
    prefix: 'gap',
    windowed: false,
    warmup: () => 2,
    definition: () => `overnight gap: O_t / C_{t-1} - 1 (simple return)`,
    sql: () => `gap`,
  },
  gap_mean: {
    prefix: 'gap_mean',
    windowed: true,
    warmup: (w) => w + 1,
    definition: (w) => `mean overnight gap (O_t / C_{t-1} - 1) over the last ${w} trading days`,
    ts: (w) => ({ op: 'mean', input: 'gap', window: w, log: false }),
  },
  drawdown: {
    prefix: 'dd',
    windowed: true,
    warmup: (w) => w,
    definition: (w) => `drawdown from the ${w}-day high: C_t / max(C over the last ${w} trading days) - 1 (<= 0; highs on closes)`,
    ts: (w) => ({ op: 'drawdown', input: 'close', window: w }),
  },
  beta: {
    prefix: 'beta',
    windowed: true,
    warmup: (w) => w + 1,
    definition: (w) =>
      `OLS beta of r_t on the equal-weight universe log return m_t (mean of r over the symbols with a return that date, the symbol included) over the last ${w} trading days: cov(r, m) / var(m)`,
    ts: (w) => ({ op: 'beta', window: w }),
  },
};

const NORMALIZATIONS = ['rank', 'zscore', 'none'] as const;

const featureEntrySchema = z.strictObject({
  kind: z.enum(FEATURE_KINDS),
  window: z.number().int().min(2).max(2520).optional(),
  name: z
    .string()
    .regex(/^[a-z][a-z0-9_]*$/, 'lower-case letters, digits and _ (a SQL column name)')
    .optional(),
  normalize: z.enum(NORMALIZATIONS).optional(),
});

/** Schema of `configs/features/<set>.yml`. */
export const featureConfigSchema = z.strictObject({
  version: z.literal(1),
  name: z.string().regex(/^[a-z][a-z0-9_-]*$/),
  description: z.string().optional(),
  /** Normalisation of features that do not set one. */
  normalize_default: z.enum(NORMALIZATIONS).default('rank'),
  /** |z| cap of the `zscore` normalisation (winsorising). */
  zscore_clip: z.number().positive().default(3),
  features: z.array(featureEntrySchema).min(1),
});
export type FeatureConfig = z.output<typeof featureConfigSchema>;

/** One resolved feature, in output column order. */
export interface FeatureSpec {
  name: string;
  kind: FeatureKind;
  /** Window in trading days (rows of the symbol); null for unwindowed kinds. */
  window: number | null;
  normalize: Normalization;
  /** Rows of the symbol's history a non-NULL value needs (the row itself included). */
  warmup_rows: number;
  definition: string;
  /** SQL expression when computed in SQL, else null. */
  sql: string | null;
  /** Trailing-window statistic computed in TypeScript, else null. */
  ts: TsSpec | null;
}

export interface ResolvedFeatureSet {
  /** Path of the config file relative to the project root, as given. */
  config_path: string;
  /** sha256 of the config file's bytes. */
  config_digest: string;
  config: FeatureConfig;
  /** Window overrides applied (keys = names as the file defines them). */
  overrides: Record<string, number>;
  /** Bars per year the volatility features annualise with (the input's calendar). */
  bars_per_year: number;
  features: FeatureSpec[];
}

/**
 * Reads, validates and resolves a feature-set config file. `relPath` is resolved against
 * `projectRoot`. `windowOverrides` maps a feature's name (as the file defines it, e.g. `mom_5`) to a new
 * window; a feature whose name is derived (no explicit `name:`) is renamed accordingly (`mom_10`).
 * Throws UserError naming the file, line:column and field for every problem (missing file, YAML syntax,
 * schema violations, windows on unwindowed kinds, duplicate names, unknown override keys).
 */
export function loadFeatureSet(projectRoot: string, relPath: string, windowOverrides: Record<string, number> = {}, barsPerYear: number = NYSE_DAILY.barsPerYear): ResolvedFeatureSet {
  const abs = path.resolve(projectRoot, relPath);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (e) {
    throw new UserError(`feature config ${relPath} cannot be read (${(e as NodeJS.ErrnoException).code ?? e}); expected a YAML file relative to ${projectRoot}`);
  }
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  if (doc.errors.length > 0) {
    const err = doc.errors[0]!;
    const pos = lc.linePos(err.pos[0]);
    throw new UserError(`${relPath}:${pos.line}:${pos.col}: YAML syntax error: ${err.message.split('\n')[0]}`);
  }
  const where = (p: PropertyKey[]): string => {
    const node = doc.getIn(p as (string | number)[], true) as { range?: [number, number, number] } | undefined;
    const pos = node && typeof node === 'object' && node.range ? lc.linePos(node.range[0]) : undefined;
    return pos ? `${relPath}:${pos.line}:${pos.col}` : relPath;
  };
  const fieldName = (p: PropertyKey[]) =>
    p.reduce<string>((acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : acc ? `${acc}.${String(k)}` : String(k)), '') || '(root)';
  const parsed = featureConfigSchema.safeParse(doc.toJS());
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${where(i.path)}: ${fieldName(i.path)}: ${i.message}`);
    throw new UserError(`invalid feature config:\n  ${lines.join('\n  ')}`);
  }
  const config = parsed.data;

  // Validate windows against kinds, derive names (before overrides) and check uniqueness.
  const fileNames: string[] = [];
  config.features.forEach((f, i) => {
    const info = KINDS[f.kind];
    if (info.windowed && f.window === undefined) throw new UserError(`${where(['features', i])}: features[${i}]: kind ${f.kind} needs a window (trading days)`);
    if (!info.windowed && f.window !== undefined) throw new UserError(`${where(['features', i, 'window'])}: features[${i}].window: kind ${f.kind} takes no window`);
    fileNames.push(f.name ?? derivedName(f.kind, f.window ?? null));
  });
  const unknown = Object.keys(windowOverrides).filter((k) => !fileNames.includes(k));
  if (unknown.length > 0) throw new UserError(`window override(s) ${unknown.join(', ')} match no feature of ${relPath}; its features are: ${fileNames.join(', ')}`);

  const features: FeatureSpec[] = config.features.map((f, i) => {
    const info = KINDS[f.kind];
    const override = windowOverrides[fileNames[i]!];
    if (override !== undefined && !info.windowed) throw new UserError(`window override ${fileNames[i]}: kind ${f.kind} takes no window`);
    if (override !== undefined && !(Number.isInteger(override) && override >= 2)) throw new UserError(`window override ${fileNames[i]}: ${override} is not an integer >= 2`);
    const window = override ?? f.window ?? null;
    const name = f.name ?? derivedName(f.kind, window);
    const w = window ?? 0;
    return {
      name,
      kind: f.kind,
      window,
      normalize: f.normalize ?? config.normalize_default,
      warmup_rows: info.warmup(w),
      definition: info.definition(w, barsPerYear),
      sql: info.sql ? info.sql(w, barsPerYear) : null,
      ts: info.ts ? info.ts(w, barsPerYear) : null,
    };
  });
  const seen = new Map<string, number>();
  features.forEach((f, i) => {
    const prev = seen.get(f.name);
    if (prev !== undefined) throw new UserError(`${where(['features', i])}: features[${i}]: feature name ${f.name} is already used by features[${prev}]; give one an explicit name:`);
    seen.set(f.name, i);
  });
  return { config_path: relPath, config_digest: sha256(text), config, overrides: { ...windowOverrides }, bars_per_year: barsPerYear, features };
}

/** `<prefix>_<window>` for windowed kinds, the prefix alone otherwise. */
export function derivedName(kind: FeatureKind, window: number | null): string {
  const info = KINDS[kind];
  return info.windowed ? `${info.prefix}_${window}` : info.prefix;
}
