/**
 * Implied volatilities and Black-76 greeks for every contract of a date's chain.
 *
 * Per (date, expiry): T = ACT/365 to the 15:30 IST close (pricing/time.ts), r = RBI repo rate in
 * force (pricing/rates.ts), D = e^{−rT}, F = parity forward (pricing/forward.ts); per contract:
 * σ = impliedVol(Settle, else Close) (pricing/implied-vol.ts), greeks at σ (pricing/black76.ts).
 * A contract without an IV keeps a reason (`no_price`, `no_forward`, or the solver's IvFailure) and NaN greeks.
 *
 * Quote quality (`quote`): NSE's Settle Price is the close only for a contract that traded into the
 * close; otherwise it is the exchange's theoretical price. Of the 119,874 contracts of the shipped
 * chains, 12,835 traded but settle away from their Close (e.g. 29-Sep-2025 NIFTY 24150 PE Nov-25:
 * Close 152.30, Settle 297.15, between the 24100 and 24200 puts' 153.20 and 173.10), 33,089 did not
 * trade at all and 73,950 are clean (expiry-date rows, priced at exercise value, count as clean). Their IVs are kept (every contract is solved) but marked, and the smile (`otmSmile`: SVI and
 * SSVI fits, ATM IV, 25Δ skew) uses `clean` quotes only — on the shipped chains this takes the median
 * |SVI residual| from 0.28 to 0.08 vol points.
 */
import { groupByExpiry, optionPrice, type ChainRow, type OptionType, type PriceSource } from '../data/chain.ts';
import { black76Greeks } from './black76.ts';
import { parityForward, parityPairs, parityRegression, type ParityForward, type ParityRegression } from './forward.ts';
import { impliedVol, type IvFailure } from './implied-vol.ts';
import { discountFactor, repoRate } from './rates.ts';
import { yearFraction } from './time.ts';

/**
 * How trustworthy a contract's price is as a same-close quote: `clean` = traded that day with
 * Settle = Close (within a 0.05 tick), or the exercise value on the expiry date; `settle_ne_close` =
 * traded, but the Settle (theoretical) differs from the Close; `untraded` = no trade that day.
 */
export type QuoteQuality = 'clean' | 'settle_ne_close' | 'untraded';

/** The {@link QuoteQuality} of a chain row (see the module docs). */
export function quoteQuality(r: ChainRow): QuoteQuality {
  if (r.date === r.expiry) return 'clean';
  if (!((r.contracts ?? 0) > 0)) return 'untraded';
  return r.settle !== null && r.close !== null && Math.abs(r.settle - r.close) > 0.05 + 1e-9 ? 'settle_ne_close' : 'clean';
}

/** Why a contract has no implied vol. */
export type ContractIvReason = IvFailure | 'no_price' | 'no_forward';

/** One contract with its implied vol and greeks (per unit of the index; see Greeks for units). */
export interface ContractIv {
  date: string;
  expiry: string;
  type: OptionType;
  strike: number;
  /** Price (Settle, else Close; exercise value on the expiry date — data/chain.ts `optionPrice`), INR; NaN when none. */
  price: number;
  priceSource: PriceSource | null;
  /** Quote quality of the price (see {@link QuoteQuality}). */
  quote: QuoteQuality;
  /** Log-moneyness k = ln(K/F). */
  k: number;
  iv: number;
  reason: ContractIvReason | null;
  delta: number;
  gamma: number;
  vega: number;
  /** Theta, INR per year (÷365 per calendar day). */
  theta: number;
  /** Open interest, units of the index. */
  oi: number | null;
  contracts: number | null;
}

/** One expiry of one date. */
export interface ExpirySlice {
  date: string;
  expiry: string;
  /** Years to expiry (ACT/365). */
  t: number;
  rate: number;
  df: number;
  forward: number;
  forwardInfo: ParityForward;
  /** Diagnostic parity regression (implied rate). */
  regression: ParityRegression;
  contracts: ContractIv[];
}

/** A date's chain with IVs: spot (NIFTY close) and the expiry slices, ascending expiry. */
export interface DateChainIv {
  date: string;
  /** NIFTY 50 close (Underlying Value, else the india_indices close), NaN when neither exists. */
  spot: number;
  spotSource: 'underlying_value' | 'index_close' | null;
  slices: ExpirySlice[];
}

/**
 * Solves the chain of one date. `rows` must all carry `date`; `indexClose` is the NIFTY 50 close
 * for dates whose rows lack the Underlying Value (23 of the 243 shipped dates). Throws when rows of
 * another date are passed.
 */
export function solveDateChain(date: string, rows: readonly ChainRow[], indexClose: number | null = null): DateChainIv {
  const other = rows.find((r) => r.date !== date);
  if (other) throw new Error(`solveDateChain(${date}): got a row of ${other.date}`);
  const uv = rows.find((r) => r.underlying !== null && r.underlying > 0)?.underlying ?? null;
  const spot = uv ?? indexClose ?? NaN;
  const slices: ExpirySlice[] = [];
  for (const [expiry, er] of groupByExpiry(rows)) {
    const t = yearFraction(date, expiry);
    if (t < 0) throw new Error(`solveDateChain(${date}): expiry ${expiry} is before the trade date`);
    const rate = repoRate(date);
    const df = discountFactor(rate, t);
    const pairs = parityPairs(er);
    const fi = parityForward(pairs, df);
    const regression = parityRegression(pairs, Number.isFinite(fi.forward) ? fi.forward : spot, t);
    slices.push({ date, expiry, t, rate, df, forward: fi.forward, forwardInfo: fi, regression, contracts: er.map((r) => solveContract(r, t, df, rate, fi.forward)) });
  }
  return { date, spot, spotSource: uv !== null ? 'underlying_value' : indexClose !== null ? 'index_close' : null, slices };
}

function solveContract(r: ChainRow, t: number, df: number, rate: number, forward: number): ContractIv {
  const p = optionPrice(r);
  const base = {
    date: r.date, expiry: r.expiry, type: r.type, strike: r.strike, price: p?.price ?? NaN, priceSource: p?.source ?? null, quote: quoteQuality(r),
    k: Number.isFinite(forward) ? Math.log(r.strike / forward) : NaN, oi: r.oi, contracts: r.contracts,
  };
  const none = { iv: NaN, delta: NaN, gamma: NaN, vega: NaN, theta: NaN };
  if (!p) return { ...base, ...none, reason: 'no_price' };
  if (!(t > 0)) return { ...base, ...none, reason: 'zero_time' };
  if (!Number.isFinite(forward)) return { ...base, ...none, reason: 'no_forward' };
  const s = impliedVol(r.type, p.price, forward, r.strike, t, df);
  if (s.reason) return { ...base, ...none, reason: s.reason };
  const g = black76Greeks({ type: r.type, forward, strike: r.strike, t, vol: s.iv, df }, rate);
  return { ...base, iv: s.iv, reason: null, delta: g.delta, gamma: g.gamma, vega: g.vega, theta: g.theta };
}

/**
 * The out-of-the-money smile of a slice: puts below the forward, calls at or above, with an IV and a
 * `clean` quote (see the module docs); ascending k.
 */
export function otmSmile(slice: ExpirySlice): ContractIv[] {
  return slice.contracts
    .filter((c) => c.reason === null && c.quote === 'clean' && (c.type === 'C' ? c.strike >= slice.forward : c.strike < slice.forward))
    .sort((a, b) => a.k - b.k);
}
