/**
 * The stated INR discount rate: the Reserve Bank of India policy repo rate (public MPC decisions),
 * used as a flat continuously-compounded rate for discounting option premiums, D = e^{−rT}.
 * Why a stated rate and not the put–call-parity regression: on one date's near-ATM strikes the
 * regression slope (−D) is identified only from a strike spread of a few hundred points, so the
 * implied rate carries several percentage points of noise at one-month maturities (measured in
 * test/options and the report); the repo rate is known in advance, and for T ≤ 3 months an error of
 * 50 bp in r moves D by ≤ 0.13 %, i.e. IVs by far less than a vol point.
 */

/** Repo-rate changes (effective date, annual rate as a decimal). RBI MPC statements. */
export const RBI_REPO_RATE: ReadonlyArray<{ from: string; rate: number }> = [
  { from: '2023-02-08', rate: 0.065 },
  { from: '2025-02-07', rate: 0.0625 },
  { from: '2025-04-09', rate: 0.06 },
  { from: '2025-06-06', rate: 0.055 },
];

/** Repo rate in force on `date` (ISO). Throws for dates before the first entry of the table. */
export function repoRate(date: string): number {
  let r: number | undefined;
  for (const e of RBI_REPO_RATE) if (e.from <= date) r = e.rate;
  if (r === undefined) throw new Error(`repoRate: no RBI repo rate on file before ${RBI_REPO_RATE[0]!.from} (asked for ${date})`);
  return r;
}

/** Discount factor D = e^{−rT} for a continuously-compounded annual rate `r` and `t` years. */
export function discountFactor(r: number, t: number): number {
  return Math.exp(-r * t);
}
