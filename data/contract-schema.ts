import { z } from 'zod';

/**
 * Zod schemas of the dataset contracts (`configs/data/<name>.yml`), one per contract `kind`.
 * A contract says where the raw files are (globs relative to the data root), their format and
 * header, how source columns map to the canonical schema of its kind, units, timezone, keys,
 * the trading calendar and (OHLCV) how prices are adjusted and which values are plausible.
 * Loading, YAML positions and semantic checks live in data/contract.ts.
 */

export const DATASET_KINDS = ['ohlcv', 'options_chain', 'klines', 'lob', 'index'] as const;
export type DatasetKind = (typeof DATASET_KINDS)[number];

/** Calendar names a contract may declare (see data/calendars.ts for what each one means). */
export const CALENDAR_KINDS = ['nyse', 'nse', 'weekdays', 'inferred', '24x7'] as const;

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date YYYY-MM-DD');

/** A declared special session: the exchange opens on a weekend or a holiday (budget day, Muhurat trading). */
export const specialSessionSchema = z.union([isoDate, z.strictObject({ date: isoDate, name: z.string().default('') })]);

/** Calendars the audit knows: by rule (`nyse`, `nse`, `weekdays`, `24x7`) or `inferred` from the data. */
export const calendarSchema = z.union([
  z.enum(CALENDAR_KINDS),
  z.strictObject({
    kind: z.enum(CALENDAR_KINDS),
    /** Extra closed dates (YYYY-MM-DD) on top of the rule. */
    holidays: z.array(isoDate).default([]),
    /** Extra open dates (weekend or holiday sessions) on top of the rule's own declared ones. */
    special_sessions: z.array(specialSessionSchema).default([]),
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

/** A source column name, or alternatives tried in order (the first one the file's header has wins). */
const columnName = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);

/** Canonical OHLCV columns a source may lack in some files (NULL there). */
export const OPTIONAL_OHLCV_COLUMNS = ['open', 'high', 'low', 'volume', 'adj_close', 'symbol'] as const;

const ohlcvSourceSchema = z.strictObject({
  /**
   * Glob(s) relative to the data root (absolute allowed); wildcards `*` `?` in the file name only.
   * `{symbol}` takes the symbol from the file name (`{symbol}_data.csv`) and, with `symbols:`,
   * expands over them; `{date}` takes the date from the file name (`file_date_format`).
   */
  files: z.union([z.string(), z.array(z.string()).min(1)]),
  /** Globs (same rules as `files`, no placeholders) of matched files to leave out. */
  exclude: z.array(z.string()).default([]),
  format: z.literal('csv').default('csv'),
  delimiter: z.string().length(1).default(','),
  /**
   * Exact header every file must have (names compared trimmed and case-folded). Omit it to find
   * each `columns` entry by name in every file's own header (files may order columns differently).
   */
  header: z.array(z.string()).min(1).optional(),
  null_values: z.array(z.string()).default(['']),
  /** One file per symbol, one per date (exchange bhavcopy style), or one long file; inferred from `files` when omitted. */
  layout: z.enum(['per_symbol', 'per_date', 'long']).optional(),
  /** strptime format of the `{date}` part of file names (default: the first `date_format`). */
  file_date_format: z.string().optional(),
  /** Columns of `columns` some files may lack (read as NULL there); any other missing column fails the file. */
  optional_columns: z.array(z.enum(OPTIONAL_OHLCV_COLUMNS)).default([]),
  /** A file whose share of unparseable rows exceeds this is quarantined whole. */
  max_unparseable_share: z.number().min(0).max(1).default(0.2),
  /** More than this share of failed (quarantined) files stops the ingest with one error. */
  max_failed_file_share: z.number().min(0).max(1).default(0.1),
});

const ohlcvColumns = z.strictObject({
  /** Date column; omit when the date comes from the file name (`{date}` in `source.files`). */
  date: columnName.optional(),
  /** Symbol column; omit when the symbol comes from the file name (`{symbol}`) or `symbol:`. */
  symbol: columnName.optional(),
  open: columnName,
  high: columnName,
  low: columnName,
  close: columnName,
  /** Omit for sources without volume (indices): volume is NULL. */
  volume: columnName.optional(),
  /** The vendor's adjusted close (Yahoo `Adj Close`): the curated view scales open/high/low/close by adj_close / close. */
  adj_close: columnName.optional(),
});

/** How the prices of an OHLCV source are adjusted, and the factor table the curated view applies. */
export const adjustmentSchema = z.strictObject({
  /** What open/high/low/close/volume are: `raw` (unadjusted), `split_adjusted`, `adjusted` (splits and dividends). */
  prices: z.enum(['raw', 'split_adjusted', 'adjusted']),
  /**
   * Adjustment factors (CSV: date, symbol, factor): on its ex-date `date` a symbol's share count was
   * multiplied by `factor` (7:1 split → 7; 1:1 bonus → 2; 1:10 consolidation → 0.1; a demerger →
   * the price ratio). The curated view divides prices before `date` by the product of the later
   * factors and multiplies volumes by it.
   */
  factors: z
    .strictObject({
      file: z.string().min(1),
      date_format: z.string().default('%Y-%m-%d'),
      delimiter: z.string().length(1).default(','),
    })
    .optional(),
});

/** Plausibility bounds: rows outside them are quarantined (`out_of_bounds`, `date_out_of_range`). */
export const boundsSchema = z.strictObject({
  /** Largest plausible price (currency units). */
  max_price: z.number().positive().default(1e9),
  /** Largest plausible daily volume (units traded). */
  max_volume: z.number().positive().default(1e15),
  min_date: isoDate.default('1900-01-01'),
  /** Latest plausible date; default: the ingest's clock date (UTC) plus `future_days`. */
  max_date: isoDate.optional(),
  future_days: z.number().int().min(0).max(366).default(1),
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

export const ohlcvContractSchema = z.strictObject({
  ...common,
  kind: z.literal('ohlcv'),
  source: ohlcvSourceSchema,
  columns: ohlcvColumns,
  /** strptime format(s) of the date column; several are tried in order. */
  date_format: z.union([z.string(), z.array(z.string()).min(1)]).default('%Y-%m-%d'),
  /** Declared universe: only these symbols are read (`{symbol}` in `files` expands over them); one with no usable row is counted missing. */
  symbols: z.array(z.string().min(1)).optional(),
  /** A fixed symbol for every row (a single-instrument source without a symbol column). */
  symbol: z.string().min(1).optional(),
  calendar: calendarSchema.default('inferred'),
  adjustment: adjustmentSchema.optional(),
  bounds: boundsSchema.default(() => boundsSchema.parse({})),
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
export type OhlcvColumnName = keyof OhlcvContract['columns'];
