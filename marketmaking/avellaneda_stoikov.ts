/**
 * Avellaneda & Stoikov (2008), "High-frequency trading in a limit order book", Quant. Finance 8(3):
 * the market maker with exponential utility (risk aversion γ), mid s_t = s + σW_t, inventory q and
 * execution intensities λ(δ) = A·e^{−kδ} at distance δ from the mid. Approximate optimal quotes
 * (eqs. 29–30 of the paper, first-order in q):
 *   reservation price  r(s, q, t) = s − q·γ·σ²·(T − t)
 *   total spread       δ^a + δ^b = γ·σ²·(T − t) + (2/γ)·ln(1 + γ/k)
 *   bid = r − (δ^a + δ^b)/2,  ask = r + (δ^a + δ^b)/2.
 * Units: s and quotes in price units (USD, or log-price for the relative version), σ in price units
 * per √(time unit), T − t in time units, γ in 1/price-unit, k in 1/price-unit, A per time unit;
 * q in lots (the utility's wealth unit is one lot × one price unit).
 */
export interface AsParams {
  gamma: number;
  sigma: number;
  k: number;
  /** Intensity scale A (fills per time unit at δ = 0); used by simulators, not by the quotes. */
  A: number;
}

/** Quotes of {@link asQuotes}. */
export interface AsQuotes {
  reservation: number;
  spread: number;
  bid: number;
  ask: number;
  /** δ^b = s − bid and δ^a = ask − s (distances from the mid). */
  deltaBid: number;
  deltaAsk: number;
}

/** A-S quotes for mid `s`, inventory `q` (lots) and time to horizon `tau` = T − t ≥ 0. Throws for γ ≤ 0, k ≤ 0, σ < 0. */
export function asQuotes(s: number, q: number, tau: number, p: AsParams): AsQuotes {
  if (!(p.gamma > 0) || !(p.k > 0) || !(p.sigma >= 0) || !(tau >= 0)) throw new RangeError(`A-S needs γ > 0, k > 0, σ ≥ 0, T − t ≥ 0 (got γ ${p.gamma}, k ${p.k}, σ ${p.sigma}, T−t ${tau})`);
  const v = p.gamma * p.sigma * p.sigma * tau;
  const reservation = s - q * v;
  const spread = v + (2 / p.gamma) * Math.log(1 + p.gamma / p.k);
  const bid = reservation - spread / 2;
  const ask = reservation + spread / 2;
  return { reservation, spread, bid, ask, deltaBid: s - bid, deltaAsk: ask - s };
}

/** Execution intensity λ(δ) = A·e^{−kδ} (per time unit) at distance δ ≥ −∞ from the mid. */
export function fillIntensity(delta: number, p: AsParams): number {
  return p.A * Math.exp(-p.k * delta);
}
