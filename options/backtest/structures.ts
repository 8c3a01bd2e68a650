/**
 * Option structures built from one date's slice (decision information only): straddles,
 * strangles, verticals and iron condors (a put credit spread below and a call credit spread above).
 * Strikes are chosen by undiscounted Black-76 forward delta |∂V/∂F|/D at each strike's own IV:
 * ATM = the listed strike nearest the parity forward with both legs priced; "25Δ" = the OTM strike
 * whose |delta| is closest to 0.25 (10Δ likewise). Quantities are in contracts per unit structure
 * (+1 long, −1 short); the engine scales by lots.
 */
import type { OptionType } from '../data/chain.ts';
import type { ExpirySlice } from '../pricing/chain-iv.ts';

/** Supported structures. */
export type StructureKind =
  | 'long_straddle' | 'short_straddle' | 'long_strangle' | 'short_strangle'
  | 'bull_call_spread' | 'bear_put_spread' | 'iron_condor';

/** One leg: `qty` contracts (signed) of (expiry, type, strike). */
export interface Leg {
  expiry: string;
  type: OptionType;
  strike: number;
  qty: number;
}

/** ATM strike of a slice (nearest the forward with both legs solved), NaN when none. */
export function atmStrike(slice: ExpirySlice): number {
  const solved = (type: OptionType) => new Set(slice.contracts.filter((c) => c.type === type && c.reason === null).map((c) => c.strike));
  const c = solved('C');
  const both = [...solved('P')].filter((k) => c.has(k)).sort((a, b) => Math.abs(a - slice.forward) - Math.abs(b - slice.forward) || a - b);
  return both[0] ?? NaN;
}

/** OTM strike of `type` whose undiscounted |delta| is closest to `target`, NaN when none. */
export function deltaStrike(slice: ExpirySlice, type: OptionType, target: number): number {
  let best = NaN;
  let gap = Infinity;
  for (const c of slice.contracts) {
    if (c.type !== type || c.reason !== null || (type === 'C' ? c.strike < slice.forward : c.strike > slice.forward)) continue;
    const g = Math.abs(Math.abs(c.delta) / slice.df - target);
    if (g < gap) [best, gap] = [c.strike, g];
  }
  return best;
}

/** Legs of `kind` on `slice`; throws with the missing strike when the slice cannot carry it. */
export function buildStructure(kind: StructureKind, slice: ExpirySlice): Leg[] {
  const e = slice.expiry;
  const need = (k: number, what: string) => {
    if (!Number.isFinite(k)) throw new Error(`buildStructure(${kind}) on ${slice.date} ${e}: no ${what} strike`);
    return k;
  };
  const atm = () => need(atmStrike(slice), 'ATM');
  const d = (type: OptionType, x: number) => need(deltaStrike(slice, type, x), `${Math.round(100 * x)}Δ ${type}`);
  const leg = (type: OptionType, strike: number, qty: number): Leg => ({ expiry: e, type, strike, qty });
  switch (kind) {
    case 'long_straddle':
    case 'short_straddle': {
      const k = atm();
      const q = kind === 'long_straddle' ? 1 : -1;
      return [leg('C', k, q), leg('P', k, q)];
    }
    case 'long_strangle':
    case 'short_strangle': {
      const q = kind === 'long_strangle' ? 1 : -1;
      return [leg('C', d('C', 0.25), q), leg('P', d('P', 0.25), q)];
    }
    case 'bull_call_spread':
      return [leg('C', atm(), 1), leg('C', d('C', 0.25), -1)];
    case 'bear_put_spread':
      return [leg('P', atm(), 1), leg('P', d('P', 0.25), -1)];
    case 'iron_condor': {
      const [p25, p10, c25, c10] = [d('P', 0.25), d('P', 0.1), d('C', 0.25), d('C', 0.1)];
      if (p10 >= p25 || c10 <= c25) throw new Error(`buildStructure(iron_condor) on ${slice.date} ${e}: 10Δ and 25Δ strikes coincide (${p10}/${p25}, ${c25}/${c10})`);
      return [leg('P', p25, -1), leg('P', p10, 1), leg('C', c25, -1), leg('C', c10, 1)];
    }
  }
}
