/**
 * The chain audit's thresholds and their defaults, apart from the rules (options/audit/rules.ts) so
 * that a step kind's config schema (kinds/options/config.ts) reads them without loading the rules
 * and the chain loader they import.
 */

/** Fractions of offending items above which a rule turns AMBER / RED, and rule parameters. */
export interface ChainAuditThresholds {
  /** [amber, red] fraction thresholds per rule (offending / examined); a fraction > amber → AMBER. */
  levels: Record<string, [number, number]>;
  /** Move of the underlying (|ΔS/S|) above which an unchanged, untraded settle counts as stale. */
  staleMove: number;
  /** Settles at or below this (INR) are at the exchange's price floor and are not called stale. */
  staleFloor: number;
  /** Parity breach: |C − P − D(F − K)| above this fraction of spot. */
  parityTolerance: number;
  /** Parity and strike-grid checks look at strikes within this fraction of the forward. */
  band: number;
  /** Price tick, INR (tolerance of the vertical-spread and crossed-price checks). */
  tick: number;
}

/** Default thresholds (chosen on the shipped NIFTY chains; figures in test/options). */
export const DEFAULT_THRESHOLDS: ChainAuditThresholds = {
  levels: {
    zero_price: [0, 0.05],
    crossed_price: [0, 0.01],
    // Non-synchronous closes make ~8-12 % of adjacent pairs non-monotone on a typical date (measured on
    // the shipped chains, test/options/audit.test.ts); AMBER/RED mark dates well above that.
    vertical_arbitrage: [0.15, 0.3],
    stale_settle: [0.1, 0.4],
    parity_breach: [0.1, 0.3],
    strike_grid: [0, 0.1],
    oi_units: [0, 0.05],
    oi_change_mismatch: [0.05, 0.25],
  },
  staleMove: 0.005,
  staleFloor: 0.05,
  parityTolerance: 0.0025,
  band: 0.1,
  tick: 0.05,
};
