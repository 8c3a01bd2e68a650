import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseDocument, isMap, isSeq, type Document } from 'yaml';
import { z } from 'zod';
import { UserError } from '../lib/errors.ts';
import { digestJson } from '../lib/hash.ts';

/**
 * Dataset contracts: one YAML file per dataset under `configs/data/<name>.yml`.
 * A contract says where the raw files are (globs relative to the data root), their format and
 * header, how source columns map to the canonical schema of its `kind`, units, timezone, keys and
 * the trading calendar. `configs/data/audit.yml` holds the default audit thresholds; a contract's
 * `audit:` block overrides them per dataset. Users add datasets without code.
 */

export const DATASET_KINDS = ['ohlcv', 'options_chain', 'klines', 'lob', 'index'] as const;
export type DatasetKind = (typeof DATASET_KINDS)[number];

/** Calendars the audit knows: declared by rule (`nyse`, `weekdays`, `24x7`) or `inferred` from the data. */
export const calendarSchema = z.union([
  z.enum(['nyse', 'weekdays', 'inferred', '24x7']),
  z.object({
    kind: z.enum(['nyse', 'weekdays', 'inferred', '24x7']),
    /** Extra closed dates (YYYY-MM-DD) on top of the rule. */
    holidays: z.array(z.string().regex(/^\d{4}-\d{2}-\d{2}$/)).default([]),
    /** `inferred` only: a date counts as a session when at least this share of live symbols traded. */
    min_fraction: z.number().min(0).max(1).default(0.5),
  }),
]);

const csvSourceSchema = z.object({
  /** Glob(s) relative to the data root (absolute allowed). `{symbol}` expands over `symbols`. */
  files: z.union([z.string(), z.array(z.string()).min(1)]),
  format: z.literal('csv').default('csv'),
  delimiter: z.string().length(1).default(','),
  /** Exact header (names trimmed of surrounding spaces); `false` = the files have no header row. */
  header: z.union([z.array(z.string()).min(1), z.literal(false)]),
  /** Raw strings read as missing (after trimming). */
  null_values: z.array(z.string()).default(['']),
});

const ohlcvColumns = z.object({
  date: z.string(),
  symbol: z.string(),
  open: z.string(),
  high: z.string(),
  low: z.string(),
  close: z.string(),
  volume: z.string(),
});

/** Audit overrides a contract may carry (merged over configs/data/audit.yml). */
const auditOverride = z.record(z.string(), z.unknown()).optional();

const common = {
  name: z.string().regex(/^[a-z0-9_]+$/, 'lower-case letters, digits and _ only'),
  description: z.string().default(''),
  timezone: z.string().default('UTC'),
  units: z.record(z.string(), z.union([z.string(), z.number()])).default({}),
  keys: z.array(z.string()).optional(),
  provenance: z.string().optional(),
  audit: auditOverride,
};

export const ohlcvContractSchema = z.object({
  ...common,
  kind: z.literal('ohlcv'),
  source: csvSourceSchema,
  columns: ohlcvColumns,
  date_format: z.string().default('%Y-%m-%d'),
  /** Optional universe subset: only these symbols are read (and `{symbol}` in `files` expands over them). */
  symbols: z.array(z.string().min(1)).optional(),
  calendar: calendarSchema.default('inferred'),
});

export const optionsContractSchema = z.object({
  ...common,
  kind: z.literal('options_chain'),
  source: csvSourceSchema,
  columns: z.object({
    date: z.string(),
    underlying: z.string(),
    expiry: z.string(),
    option_type: z.string(),
    strike: z.string(),
    open: z.string(),
    high: z.string(),
    low: z.string(),
    close: z.string(),
    ltp: z.string(),
    settle: z.string(),
    contracts: z.string(),
    turnover: z.string(),
    premium_turnover: z.string(),
    open_interest: z.string(),
    oi_change: z.string(),
    underlying_value: z.string(),
  }),
  date_format: z.string(),
  /** Multiplier from the file's turnover unit to currency units (₹ lakhs → ₹: 100000). */
  turnover_multiplier: z.number().positive().default(1),
  /** Raw option-type strings → canonical `C` / `P`. */
  option_types: z.record(z.string(), z.enum(['C', 'P'])).default({ CE: 'C', PE: 'P', C: 'C', P: 'P', CALL: 'C', PUT: 'P' }),
  calendar: calendarSchema.default('inferred'),
});

export const klinesContractSchema = z.object({
  ...common,
  kind: z.literal('klines'),
  source: csvSourceSchema,
  columns: z.object({
    ts: z.string(),
    symbol: z.string(),
    open: z.string(),
    high: z.string(),
    low: z.string(),
    close: z.string(),
    volume: z.string(),
    quote_volume: z.string(),
    trades: z.string().optional(),
  }),
  /** Bar length, e.g. `1h`, `1d`. */
  interval: z.enum(['1m', '5m', '15m', '1h', '4h', '1d']),
  /** Epoch values above this are milliseconds, below it seconds (two export vintages stacked). */
  epoch_ms_threshold: z.number().default(1e11),
  /** Source symbol spelling → canonical (e.g. `BTC/USDT` → `BTCUSDT`): strip these characters. */
  symbol_strip: z.string().default('/'),
  /**
   * Volume column names vary per file (`Volume BTC`, `Volume ETH`): a `{base}` placeholder in
   * `columns.volume` is replaced by the symbol's base asset taken from the file name pattern.
   */
  file_pattern: z.string().optional(),
  /** A bar whose open and close differ by more than this factor is implausible for one interval and is quarantined. */
  max_open_close_ratio: z.number().gt(1).default(1.5),
  calendar: calendarSchema.default('24x7'),
});

export const lobContractSchema = z.object({
  ...common,
  kind: z.literal('lob'),
  source: z.object({
    messages: z.union([z.string(), z.array(z.string()).min(1)]),
    orderbook: z.union([z.string(), z.array(z.string()).min(1)]),
    /** Regex with named groups `symbol`, `date` (YYYY-MM-DD), `levels`, applied to file names. */
    file_pattern: z.string(),
    delimiter: z.string().length(1).default(','),
  }),
  /** Raw price integer ÷ this = currency units (LOBSTER: 10000). */
  price_scale: z.number().positive().default(10000),
  calendar: calendarSchema.default('weekdays'),
});

const indexFileSchema = z.object({
  path: z.string(),
  symbol: z.string(),
  header: z.array(z.string()).min(1),
  columns: z.object({
    date: z.string(),
    open: z.string().optional(),
    high: z.string().optional(),
    low: z.string().optional(),
    close: z.string(),
    volume: z.string().optional(),
  }),
  date_format: z.string().default('%Y-%m-%d'),
  /** Lower = preferred when two files cover the same (symbol, date). */
  priority: z.number().int().default(1),
  source_name: z.string().optional(),
});

export const indexContractSchema = z.object({
  ...common,
  kind: z.literal('index'),
  source: z.object({
    delimiter: z.string().length(1).default(','),
    null_values: z.array(z.string()).default(['']),
    files: z.array(indexFileSchema).min(1),
  }),
  calendar: calendarSchema.default('inferred'),
});

export const datasetContractSchema = z.discriminatedUnion('kind', [
  ohlcvContractSchema,
  optionsContractSchema,
  klinesContractSchema,
  lobContractSchema,
  indexContractSchema,
]);

export type DatasetContract = z.output<typeof datasetContractSchema>;
export type OhlcvContract = z.output<typeof ohlcvContractSchema>;
export type OptionsContract = z.output<typeof optionsContractSchema>;
export type KlinesContract = z.output<typeof klinesContractSchema>;
export type LobContract = z.output<typeof lobContractSchema>;
export type IndexContract = z.output<typeof indexContractSchema>;
export type CalendarSpec = z.output<typeof calendarSchema>;

/** A loaded contract: the parsed value, the YAML file it came from and its content digest. */
export interface LoadedContract<C extends DatasetContract = DatasetContract> {
  contract: C;
  file: string;
  digest: string;
}

/** Folder of dataset contracts in a checkout. */
export function contractsDir(projectRoot: string): string {
  return path.join(projectRoot, 'configs', 'data');
}

/** Names of the dataset contracts in `configs/data/` (every `*.yml` except `audit.yml`), sorted. */
export function listDatasets(projectRoot: string): string[] {
  const dir = contractsDir(projectRoot);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f) && !/^audit\.ya?ml$/.test(f))
    .map((f) => f.replace(/\.ya?ml$/, ''))
    .sort();
}

/**
 * Parses a YAML file and returns its JS value; throws UserError naming file:line:col on a syntax error.
 */
export function readYamlFile(file: string): { value: unknown; doc: Document } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UserError(`cannot read ${file}: ${(e as Error).message}`);
  }
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    const pos = e.linePos?.[0];
    throw new UserError(`${file}${pos ? `:${pos.line}:${pos.col}` : ''}: YAML syntax error: ${e.message.split('\n')[0]}`);
  }
  return { value: doc.toJS(), doc };
}

/** Line (1-based) of the YAML node at `p` in `doc`, or of the deepest existing parent. */
function lineOf(doc: Document, text: string, p: (string | number)[]): number | undefined {
  for (let n = p.length; n >= 0; n--) {
    const node = doc.getIn(p.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    const parent = n > 0 ? (doc.getIn(p.slice(0, n - 1), true) as unknown) : doc.contents;
    let offset: number | undefined;
    if (isMap(parent)) {
      const pair = parent.items.find((it) => (it.key as { value?: unknown })?.value === p[n - 1]);
      offset = (pair?.key as { range?: [number, number, number] } | undefined)?.range?.[0];
    } else if (isSeq(parent) && node?.range) offset = node.range[0];
    if (offset === undefined && node?.range) offset = node.range[0];
    if (offset !== undefined) return text.slice(0, offset).split('\n').length;
  }
  return undefined;
}

/**
 * Validates a parsed YAML value against a zod schema; throws a UserError naming the file, the
 * line and the field path of every problem (`configs/data/x.yml:12 source.header: expected array`).
 */
export function parseWithSchema<S extends z.ZodType>(schema: S, value: unknown, file: string, doc?: Document): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const lines = r.error.issues.slice(0, 8).map((iss) => {
    const p = iss.path.map((x) => (typeof x === 'symbol' ? String(x) : x)) as (string | number)[];
    const line = doc ? lineOf(doc, text, p) : undefined;
    return `  ${file}${line ? `:${line}` : ''} ${p.join('.') || '(root)'}: ${iss.message}`;
  });
  throw new UserError(`invalid dataset contract ${file}:\n${lines.join('\n')}`);
}

/**
 * Loads and validates `configs/data/<name>.yml` (relative to `projectRoot`).
 * Throws UserError when the file is missing (listing the known datasets), on YAML syntax errors,
 * on schema violations (file:line field: message), or when `name:` differs from the file name.
 */
export function loadDatasetContract(projectRoot: string, name: string): LoadedContract {
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new UserError(`bad dataset name "${name}": use letters, digits, _ . -`);
  const dir = contractsDir(projectRoot);
  const file = [path.join(dir, `${name}.yml`), path.join(dir, `${name}.yaml`)].find((f) => existsSync(f));
  if (!file || name === 'audit') {
    const known = listDatasets(projectRoot);
    throw new UserError(`no dataset contract "${name}" in ${dir}; known datasets: ${known.join(', ') || '(none)'}`);
  }
  const { value, doc } = readYamlFile(file);
  const contract = parseWithSchema(datasetContractSchema, value, file, doc);
  if (contract.name !== name) {
    throw new UserError(`${file}: name "${contract.name}" does not match the file name (expected name: ${name})`);
  }
  return { contract, file, digest: digestJson(contract) };
}

/** Expands `{symbol}` placeholders of a contract's globs over its declared symbols. */
export function expandGlobs(globs: string | string[], symbols?: string[]): string[] {
  const list = Array.isArray(globs) ? globs : [globs];
  const out: string[] = [];
  for (const g of list) {
    if (g.includes('{symbol}')) {
      if (!symbols?.length) throw new UserError(`source glob "${g}" uses {symbol} but the contract declares no symbols`);
      for (const s of symbols) out.push(g.replaceAll('{symbol}', s));
    } else out.push(g);
  }
  return out;
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (const ch of glob) {
    if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/**
 * Resolves globs (relative to `dataRoot`, or absolute) to files, sorted by path, de-duplicated.
 * Wildcards (`*`, `?`) are allowed in the file-name part only. Throws a non-retryable error (via
 * `fail`) naming the glob and its folder when a glob matches nothing or its folder is missing.
 */
export function resolveFiles(dataRoot: string, globs: string[], fail: (msg: string) => never): string[] {
  const found = new Set<string>();
  for (const g of globs) {
    const abs = path.isAbsolute(g) ? g : path.join(dataRoot, g);
    const dir = path.dirname(abs);
    const base = path.basename(abs);
    if (/[*?]/.test(dir)) fail(`source glob "${g}": wildcards are only allowed in the file name`);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) fail(`source folder ${dir} (from glob "${g}") does not exist; check the data root (${dataRoot}) or TRADEML_DATA_ROOT`);
    if (!/[*?]/.test(base)) {
      if (!existsSync(abs)) fail(`source file ${abs} (from "${g}") does not exist`);
      found.add(abs);
      continue;
    }
    const re = globToRegExp(base);
    const matches = readdirSync(dir).filter((f) => re.test(f)).map((f) => path.join(dir, f));
    if (!matches.length) fail(`source glob "${g}" matches no files in ${dir} (empty folder or wrong pattern)`);
    for (const m of matches) found.add(m);
  }
  return [...found].sort();
}
