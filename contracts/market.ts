/**
 * Market-data contracts: what ingest and audit steps provide (data/ingest/*, data/audit.ts).
 */
import { z } from 'zod';
import { artifactRefSchema, calendarField, defineContract, type ColumnSpec } from './define.ts';

const price = (name: string, what: string): ColumnSpec => ({ name, type: 'DOUBLE', unit: 'currency units (USD for S&P)', description: what });

/** Canonical daily OHLCV bars, one row per (symbol, date). */
export const ohlcvDaily = defineContract({
  name: 'ohlcv.daily',
  version: 1,
  description: 'Canonical daily OHLCV bars of a dataset (ingested table or audited curated view)',
  schema: artifactRefSchema
    .extend({
      dataset: z.string().describe('dataset name (configs/data/<name>.yml)'),
      calendar: calendarField,
      quarantine: artifactRefSchema.optional().describe('ingest only: rows quarantined at ingest (rule, file, line, raw)'),
      manifest: artifactRefSchema.optional().describe('ingest only: manifest JSON (sources with sha256, counts, lost symbols, adjustments)'),
      quarantined_by_rule: z.record(z.string(), z.number().int()).optional().describe('ingest only: quarantined rows per rule'),
    })
    .describe('Daily OHLCV Parquet with its dataset and calendar (ingested tables also carry their quarantine and manifest)'),
  tables: [
    {
      at: '.',
      columns: [
        { name: 'date', type: 'DATE', unit: 'exchange trading date', description: 'session date' },
        { name: 'symbol', type: 'VARCHAR', unit: 'ticker', description: 'instrument' },
        price('open', 'opening price (NULL allowed in an ingested table; never in curated)'),
        price('high', 'session high'),
        price('low', 'session low'),
        price('close', 'closing price, > 0'),
        { ...price('adj_close', 'adjusted close, when the dataset contract maps one'), optional: true },
        { name: 'volume', type: 'DOUBLE', unit: 'shares (NULL for indices without volume)', description: 'traded volume' },
      ],
      order: ['symbol', 'date'],
      unique: ['symbol', 'date'],
    },
  ],
});

/** Intraday bars (klines), one row per (symbol, ts). */
export const barsIntraday = defineContract({
  name: 'bars.intraday',
  version: 1,
  description: 'Intraday OHLCV bars (klines) of a dataset',
  schema: artifactRefSchema
    .extend({
      dataset: z.string().describe('dataset name'),
      calendar: calendarField,
      interval: z.string().describe('bar interval, e.g. 1h'),
    })
    .describe('Intraday bars Parquet'),
  tables: [
    {
      at: '.',
      columns: [
        { name: 'ts', type: 'TIMESTAMP', unit: 'UTC, bar open', description: 'bar start' },
        { name: 'date', type: 'DATE', unit: 'UTC date', description: 'date of ts' },
        { name: 'symbol', type: 'VARCHAR', unit: 'pair, e.g. BTCUSDT', description: 'instrument' },
        { name: 'open', type: 'DOUBLE', unit: 'quote currency', description: 'open' },
        { name: 'high', type: 'DOUBLE', unit: 'quote currency', description: 'high' },
        { name: 'low', type: 'DOUBLE', unit: 'quote currency', description: 'low' },
        { name: 'close', type: 'DOUBLE', unit: 'quote currency', description: 'close' },
        { name: 'volume', type: 'DOUBLE', unit: 'base units', description: 'base volume' },
        { name: 'quote_volume', type: 'DOUBLE', unit: 'quote currency', description: 'quote volume' },
        { name: 'trades', type: 'BIGINT', unit: 'count (NULL in old exports)', description: 'number of trades' },
        { name: 'interval', type: 'VARCHAR', unit: 'e.g. 1h', description: 'bar interval' },
      ],
      order: ['symbol', 'ts'],
      unique: ['symbol', 'ts'],
    },
  ],
});

/** End-of-day option chain, one row per contract and date. */
export const optionsChain = defineContract({
  name: 'options.chain',
  version: 1,
  description: 'End-of-day option chain (settle/close, OI, underlying) of a dataset',
  schema: artifactRefSchema
    .extend({ dataset: z.string().describe('dataset name'), calendar: calendarField })
    .describe('Option chain Parquet'),
  tables: [
    {
      at: '.',
      columns: [
        { name: 'date', type: 'DATE', unit: 'trading date', description: 'session date' },
        { name: 'underlying', type: 'VARCHAR', unit: 'index name', description: 'underlying' },
        { name: 'expiry', type: 'DATE', unit: 'date', description: 'expiry date' },
        { name: 'option_type', type: 'VARCHAR', unit: "'C' | 'P'", description: 'call or put' },
        { name: 'strike', type: 'DOUBLE', unit: 'index points', description: 'strike' },
        { name: 'open', type: 'DOUBLE', unit: 'currency units', description: 'open premium' },
        { name: 'high', type: 'DOUBLE', unit: 'currency units', description: 'high premium' },
        { name: 'low', type: 'DOUBLE', unit: 'currency units', description: 'low premium' },
        { name: 'close', type: 'DOUBLE', unit: 'currency units', description: 'close premium' },
        { name: 'ltp', type: 'DOUBLE', unit: 'currency units', description: 'last traded price' },
        { name: 'settle', type: 'DOUBLE', unit: 'currency units', description: 'settlement price' },
        { name: 'contracts', type: 'DOUBLE', unit: 'contracts', description: 'contracts traded' },
        { name: 'turnover', type: 'DOUBLE', unit: 'currency units', description: 'notional turnover' },
        { name: 'premium_turnover', type: 'DOUBLE', unit: 'currency units', description: 'premium turnover' },
        { name: 'open_interest', type: 'DOUBLE', unit: 'units of the underlying (contracts × lot)', description: 'open interest' },
        { name: 'oi_change', type: 'DOUBLE', unit: 'units of the underlying', description: 'change in open interest' },
        { name: 'underlying_value', type: 'DOUBLE', unit: 'index points', description: 'underlying close of the date' },
      ],
      order: ['date', 'expiry', 'option_type', 'strike'],
      unique: ['underlying', 'date', 'expiry', 'option_type', 'strike'],
    },
  ],
});

const lobMessageColumns: ColumnSpec[] = [
  { name: 'symbol', type: 'VARCHAR', unit: 'ticker', description: 'instrument' },
  { name: 'date', type: 'DATE', unit: 'trading date', description: 'session date' },
  { name: 'seq', type: 'INTEGER', unit: '1-based event number', description: 'message sequence' },
  { name: 'ts', type: 'TIMESTAMP', unit: 'UTC', description: 'event time' },
  { name: 'time_s', type: 'DOUBLE', unit: 'seconds after local midnight', description: 'event time as delivered' },
  { name: 'type', type: 'INTEGER', unit: 'LOBSTER 1..7', description: 'event type' },
  { name: 'order_id', type: 'BIGINT', unit: 'id', description: 'order reference' },
  { name: 'size', type: 'DOUBLE', unit: 'shares', description: 'event size' },
  { name: 'price', type: 'DOUBLE', unit: 'currency units', description: 'event price' },
  { name: 'direction', type: 'INTEGER', unit: '1 buy / −1 sell', description: 'side of the order' },
];

/** Limit-order-book messages (LOBSTER events). */
export const orderbookMessages = defineContract({
  name: 'orderbook.messages',
  version: 1,
  description: 'Limit-order-book event messages (LOBSTER: submit, cancel, delete, executions, halt)',
  schema: artifactRefSchema.extend({ dataset: z.string().describe('dataset name') }).describe('LOB messages Parquet'),
  tables: [{ at: '.', columns: lobMessageColumns, order: ['symbol', 'date', 'seq'], unique: ['symbol', 'date', 'seq'] }],
});

/** Limit-order-book snapshots after each message (long form by level). */
export const orderbookSnapshots = defineContract({
  name: 'orderbook.snapshots',
  version: 1,
  description: 'Limit-order-book state after each message, long form by price level',
  schema: artifactRefSchema.extend({ dataset: z.string().describe('dataset name') }).describe('LOB snapshots Parquet'),
  tables: [
    {
      at: '.',
      columns: [
        { name: 'symbol', type: 'VARCHAR', unit: 'ticker', description: 'instrument' },
        { name: 'date', type: 'DATE', unit: 'trading date', description: 'session date' },
        { name: 'seq', type: 'INTEGER', unit: '1-based event number', description: 'state after this message' },
        { name: 'level', type: 'INTEGER', unit: '1 = best', description: 'price level' },
        { name: 'ask_price', type: 'DOUBLE', unit: 'currency units (NULL when empty)', description: 'ask price' },
        { name: 'ask_size', type: 'DOUBLE', unit: 'shares', description: 'ask size' },
        { name: 'bid_price', type: 'DOUBLE', unit: 'currency units (NULL when empty)', description: 'bid price' },
        { name: 'bid_size', type: 'DOUBLE', unit: 'shares', description: 'bid size' },
      ],
      order: ['symbol', 'date', 'seq', 'level'],
      unique: ['symbol', 'date', 'seq', 'level'],
    },
  ],
});

/** The data-quality verdict of an audit: what training steps check before they run (data/guard.ts). */
export const dataQuality = defineContract({
  name: 'data.quality',
  version: 1,
  description: 'Data-quality verdict of an audited dataset: worst status and the RED dates with their rules',
  schema: z
    .object({
      dataset: z.string().describe('dataset name'),
      status: z.enum(['GREEN', 'AMBER', 'RED']).describe('worst date status'),
      red_dates: z.array(z.string()).describe('dates (YYYY-MM-DD) graded RED'),
      amber_dates: z.array(z.string()).describe('dates graded AMBER'),
      red_reasons: z.array(z.object({ rule: z.string().describe('audit rule'), count: z.number().int().describe('RED dates it caused') })).describe('rules behind the RED dates'),
      red_hints: z.array(z.string()).describe('one line per RED rule naming the rule and the switch that governs it'),
      lost_symbols: z.array(z.string()).describe('expected symbols with no usable row (declared, or named by a file)'),
      quarantined_files: z.array(z.string()).describe('source files quarantined whole at ingest (paths relative to the data root)'),
      corporate_actions_neutralised: z.array(z.string()).optional().describe('ex-date corporate actions back-adjusted in the curated view (symbol, date, factor)'),
      survivorship: z
        .object({
          bias: z.enum(['likely', 'unknown']).describe('likely: no symbol leaves before the last date (a survivors-only universe)'),
          symbols: z.number().int().describe('symbols in the universe'),
          exits: z.number().int().describe('symbols whose last row is before the last date'),
          entries: z.number().int().describe('symbols whose first row is after the first date'),
          statement: z.string().describe('the statement a report shows'),
        })
        .optional()
        .describe('what the universe says about survivorship bias'),
      report: artifactRefSchema.describe('the full audit report JSON'),
    })
    .describe('Audit verdict'),
});
