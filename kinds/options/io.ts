/**
 * Reading and writing the options contracts' tables as the domain modules (options/) need them:
 * chain rows from `options.chain`, index closes from `ohlcv.daily`, the solved chain history
 * (options/pricing/chain-iv.ts DateChainIv) to and from `options.iv`, features rows and lot tables.
 * Round trips are exact (DOUBLE is float64; NaN ↔ NULL).
 */
import type { ArtifactRef, ArtifactStore } from '../../artifacts/store.ts';
import { InputError } from '../../lib/errors.ts';
import type { IndexSeries } from '../../options/data/index-series.ts';
import type { OptionType, PriceSource } from '../../options/data/chain.ts';
import type { ContractIv, ContractIvReason, DateChainIv, ExpirySlice, QuoteQuality } from '../../options/pricing/chain-iv.ts';
import { OPTIONS_FEATURES, type OptionsFeature } from '../../options/features/definitions.ts';
import type { OptionsFeatureRow } from '../../options/features/compute.ts';
import { nz, readParquet, writeParquet } from './tables.ts';

/**
 * Closes of `symbols` from an `ohlcv.daily` Parquet file, ascending by date. Throws InputError naming
 * the symbols the table has when one is absent.
 */
export async function readCloses(file: string, symbols: string[], step: string): Promise<IndexSeries> {
  const list = symbols.map((s) => `'${s.replace(/'/g, "''")}'`).join(', ');
  const rows = await readParquet<{ symbol: string; date: string; close: number }>(file, "symbol, strftime(date, '%Y-%m-%d') AS date, close", `symbol IN (${list}) AND close IS NOT NULL`, 'symbol, date');
  const out: IndexSeries = {};
  for (const s of symbols) {
    out[s] = rows.filter((r) => r.symbol === s).map((r) => ({ date: r.date, close: r.close }));
    if (out[s]!.length === 0) {
      const have = await readParquet<{ symbol: string }>(file, 'DISTINCT symbol', '', 'symbol');
      throw new InputError({ message: `ohlcv.daily of step ${step} has no rows for symbol "${s}" (it has: ${have.map((h) => h.symbol).slice(0, 20).join(', ')})`, details: { step, symbol: s } });
    }
  }
  return out;
}

/** Writes the solved history as the `options.iv` tables (contracts and slices Parquet). */
export async function writeIvTables(store: ArtifactStore, history: readonly DateChainIv[]): Promise<{ contracts: ArtifactRef; slices: ArtifactRef }> {
  const cs = history.flatMap((h) => h.slices.flatMap((s) => s.contracts));
  const ss = history.flatMap((h) => h.slices.map((s) => ({ s, h })));
  const contracts = await writeParquet(store, 'options_iv.parquet', [
    { name: 'date', type: 'DATE', values: cs.map((c) => c.date) },
    { name: 'expiry', type: 'DATE', values: cs.map((c) => c.expiry) },
    { name: 'option_type', type: 'VARCHAR', values: cs.map((c) => c.type) },
    { name: 'strike', type: 'DOUBLE', values: cs.map((c) => c.strike) },
    { name: 'price', type: 'DOUBLE', values: cs.map((c) => c.price) },
    { name: 'price_source', type: 'VARCHAR', values: cs.map((c) => c.priceSource) },
    { name: 'quote', type: 'VARCHAR', values: cs.map((c) => c.quote) },
    { name: 'k', type: 'DOUBLE', values: cs.map((c) => c.k) },
    { name: 'iv', type: 'DOUBLE', values: cs.map((c) => c.iv) },
    { name: 'reason', type: 'VARCHAR', values: cs.map((c) => c.reason) },
    { name: 'delta', type: 'DOUBLE', values: cs.map((c) => c.delta) },
    { name: 'gamma', type: 'DOUBLE', values: cs.map((c) => c.gamma) },
    { name: 'vega', type: 'DOUBLE', values: cs.map((c) => c.vega) },
    { name: 'theta', type: 'DOUBLE', values: cs.map((c) => c.theta) },
    { name: 'oi', type: 'DOUBLE', values: cs.map((c) => c.oi ?? NaN) },
    { name: 'contracts', type: 'DOUBLE', values: cs.map((c) => c.contracts ?? NaN) },
  ], ['date', 'expiry', 'option_type', 'strike']);
  const slices = await writeParquet(store, 'options_slices.parquet', [
    { name: 'date', type: 'DATE', values: ss.map((x) => x.s.date) },
    { name: 'expiry', type: 'DATE', values: ss.map((x) => x.s.expiry) },
    { name: 't', type: 'DOUBLE', values: ss.map((x) => x.s.t) },
    { name: 'rate', type: 'DOUBLE', values: ss.map((x) => x.s.rate) },
    { name: 'df', type: 'DOUBLE', values: ss.map((x) => x.s.df) },
    { name: 'forward', type: 'DOUBLE', values: ss.map((x) => x.s.forward) },
    { name: 'forward_dispersion', type: 'DOUBLE', values: ss.map((x) => x.s.forwardInfo.dispersion) },
    { name: 'forward_pairs', type: 'INTEGER', values: ss.map((x) => x.s.forwardInfo.pairs) },
    { name: 'forward_strikes', type: 'VARCHAR', values: ss.map((x) => x.s.forwardInfo.strikes.join(',')) },
    { name: 'reg_df', type: 'DOUBLE', values: ss.map((x) => x.s.regression.df) },
    { name: 'reg_forward', type: 'DOUBLE', values: ss.map((x) => x.s.regression.forward) },
    { name: 'implied_rate', type: 'DOUBLE', values: ss.map((x) => x.s.regression.impliedRate) },
    { name: 'reg_n', type: 'INTEGER', values: ss.map((x) => x.s.regression.n) },
    { name: 'spot', type: 'DOUBLE', values: ss.map((x) => x.h.spot) },
    { name: 'spot_source', type: 'VARCHAR', values: ss.map((x) => x.h.spotSource) },
  ], ['date', 'expiry']);
  return { contracts, slices };
}

type SliceRow = { date: string; expiry: string; t: number; rate: number; df: number; forward: number | null; forward_dispersion: number | null; forward_pairs: number; forward_strikes: string; reg_df: number | null; reg_forward: number | null; implied_rate: number | null; reg_n: number; spot: number | null; spot_source: string | null };
type ContractRow = { date: string; expiry: string; option_type: OptionType; strike: number; price: number | null; price_source: string | null; quote: QuoteQuality; k: number | null; iv: number | null; reason: string | null; delta: number | null; gamma: number | null; vega: number | null; theta: number | null; oi: number | null; contracts: number | null };

const D = (c: string) => `strftime(${c}, '%Y-%m-%d') AS ${c}`;

/**
 * Reads an `options.iv` value back into the solved history (ascending dates, expiries ascending,
 * contracts in (type, strike) order). `upTo` keeps dates ≤ it only (point-in-time truncation).
 */
export async function readIvHistory(store: ArtifactStore, v: { contracts: ArtifactRef; slices: ArtifactRef }, upTo?: string): Promise<DateChainIv[]> {
  const where = upTo ? `date <= DATE '${upTo}'` : '';
  const sRows = await readParquet<SliceRow>(store.path(v.slices), `${D('date')}, ${D('expiry')}, * EXCLUDE (date, expiry)`, where, 'date, expiry');
  const cRows = await readParquet<ContractRow>(store.path(v.contracts), `${D('date')}, ${D('expiry')}, * EXCLUDE (date, expiry)`, where, 'date, expiry, option_type, strike');
  const byKey = new Map<string, ContractIv[]>();
  for (const r of cRows) {
    const key = `${r.date}|${r.expiry}`;
    let list = byKey.get(key);
    if (!list) byKey.set(key, (list = []));
    list.push({
      date: r.date, expiry: r.expiry, type: r.option_type, strike: r.strike, price: nz(r.price), priceSource: (r.price_source ?? null) as PriceSource | null, quote: r.quote,
      k: nz(r.k), iv: nz(r.iv), reason: (r.reason ?? null) as ContractIvReason | null, delta: nz(r.delta), gamma: nz(r.gamma), vega: nz(r.vega), theta: nz(r.theta), oi: r.oi, contracts: r.contracts,
    });
  }
  const out: DateChainIv[] = [];
  for (const r of sRows) {
    if (out.at(-1)?.date !== r.date) out.push({ date: r.date, spot: nz(r.spot), spotSource: (r.spot_source ?? null) as DateChainIv['spotSource'], slices: [] });
    const slice: ExpirySlice = {
      date: r.date, expiry: r.expiry, t: r.t, rate: r.rate, df: r.df, forward: nz(r.forward),
      forwardInfo: { forward: nz(r.forward), reason: r.forward === null ? 'no_pairs' : null, strikes: r.forward_strikes ? r.forward_strikes.split(',').map(Number) : [], dispersion: nz(r.forward_dispersion), pairs: r.forward_pairs },
      regression: { df: nz(r.reg_df), forward: nz(r.reg_forward), impliedRate: nz(r.implied_rate), n: r.reg_n },
      contracts: byKey.get(`${r.date}|${r.expiry}`) ?? [],
    };
    out.at(-1)!.slices.push(slice);
  }
  return out;
}

/** Writes options feature rows as the `options.features` table. */
export async function writeFeatureTable(store: ArtifactStore, rows: readonly OptionsFeatureRow[], spot: ReadonlyMap<string, number>): Promise<ArtifactRef> {
  return writeParquet(store, 'options_features.parquet', [
    { name: 'date', type: 'DATE', values: rows.map((r) => r.date) },
    ...OPTIONS_FEATURES.map((f) => ({ name: f, type: 'DOUBLE' as const, values: rows.map((r) => r.values[f]) })),
    { name: 'rv20', type: 'DOUBLE', values: rows.map((r) => r.rv20) },
    { name: 'spot', type: 'DOUBLE', values: rows.map((r) => spot.get(r.date) ?? NaN) },
    { name: 'reasons', type: 'VARCHAR', values: rows.map((r) => JSON.stringify(r.reasons)) },
  ], ['date']);
}

/** Reads an `options.features` table back into feature rows (ascending date). */
export async function readFeatureTable(file: string): Promise<OptionsFeatureRow[]> {
  const rows = await readParquet<Record<string, unknown>>(file, `${D('date')}, * EXCLUDE (date)`, '', 'date');
  return rows.map((r) => ({
    date: String(r.date),
    values: Object.fromEntries(OPTIONS_FEATURES.map((f) => [f, nz(r[f])])) as Record<OptionsFeature, number>,
    reasons: JSON.parse(String(r.reasons ?? '{}')) as OptionsFeatureRow['reasons'],
    rv20: nz(r.rv20),
  }));
}

/** The lot table of an `options.audit` value's lots Parquet, as rows (date, expiry, lot) ascending. */
export async function readLots(file: string): Promise<Array<{ date: string; expiry: string; lot: number }>> {
  const rows = await readParquet<{ date: string; expiry: string; lot: number | null }>(file, `${D('date')}, ${D('expiry')}, lot`, '', 'date, expiry');
  return rows.map((r) => ({ date: r.date, expiry: r.expiry, lot: nz(r.lot) }));
}

/** A point-in-time lot lookup (the latest integer lot inferred for the expiry on or before the date); throws InputError when none. */
export function lotTable(rows: ReadonlyArray<{ date: string; expiry: string; lot: number }>): (date: string, expiry: string) => number {
  const byExpiry = new Map<string, Array<{ date: string; lot: number }>>();
  for (const r of rows) if (Number.isInteger(r.lot) && r.lot > 0) (byExpiry.get(r.expiry) ?? byExpiry.set(r.expiry, []).get(r.expiry)!).push({ date: r.date, lot: r.lot });
  return (date, expiry) => {
    let lot = NaN;
    for (const x of byExpiry.get(expiry) ?? []) if (x.date <= date) lot = x.lot;
    if (!Number.isFinite(lot)) throw new InputError({ message: `lot size of expiry ${expiry} unknown on ${date}: no traded row gave a lot by then (options.audit lots)`, details: { date, expiry } });
    return lot;
  };
}
