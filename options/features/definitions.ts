/**
 * The 16 options features, their units and formulas (computed in features/compute.ts from the
 * chain snapshot of features/snapshot.ts and the NIFTY 50 closes). All are point in time: the value
 * at date t uses the chain of t and closes / feature values of dates ≤ t only.
 */

/** Feature names in their fixed column order. */
export const OPTIONS_FEATURES = [
  'atm_iv', 'skew_25d', 'pcr_volume', 'pcr_oi', 'term_slope', 'vrp', 'dealer_gamma', 'theta_per_notional',
  'pcr_oi_z21', 'iv_rv_ratio', 'skew_z21', 'gamma_z21', 'put_wall', 'call_wall', 'max_pain_dist', 'contango',
] as const;

/** One options feature name. */
export type OptionsFeature = (typeof OPTIONS_FEATURES)[number];

/** Definition text per feature (units and formula), for reports and registries. */
export const FEATURE_DEFINITIONS: Record<OptionsFeature, string> = {
  atm_iv: 'front-expiry ATM implied vol, vol points (linear in k of total variance between the OTM strikes around the parity forward)',
  skew_25d: 'σ(25Δ put) − σ(25Δ call) of the front expiry, vol points (undiscounted Black-76 forward deltas)',
  pcr_volume: 'Σ put contracts traded / Σ call contracts traded, all expiries',
  pcr_oi: 'Σ put OI / Σ call OI, all expiries (OI in index units)',
  term_slope: 'ATM IV of the second expiry / ATM IV of the front expiry (ratio; > 1 = upward-sloping term structure)',
  vrp: 'atm_iv − RV20, vol points; RV20 = sample std of the last 20 daily NIFTY log returns × √(bars per year of calendar nse)',
  dealer_gamma: 'dealer net gamma exposure, INR per 1 % NIFTY move, dealers assumed short every option: −Σ Γ·OI·S²·0.01',
  theta_per_notional: 'Σ Θ·OI/365 ÷ (S·Σ OI): holders’ time decay per calendar day as a fraction of OI notional',
  pcr_oi_z21: '21-date trailing z-score of pcr_oi (sample std, the date itself included)',
  iv_rv_ratio: 'atm_iv / RV20 (both annualised vol points)',
  skew_z21: '21-date trailing z-score of skew_25d',
  gamma_z21: '21-date trailing z-score of dealer_gamma',
  put_wall: '(K − S)/S for the front-expiry strike with the largest put OI',
  call_wall: '(K − S)/S for the front-expiry strike with the largest call OI',
  max_pain_dist: '(K_maxpain − S)/S, K_maxpain minimising the writers’ payout at expiry over listed front-expiry strikes',
  contango: '1 when term_slope > 1, 0 when ≤ 1 (NaN without a second expiry)',
};

/** Window of the trailing z-scores, in feature dates (the date itself included). */
export const Z_WINDOW = 21;
/** Window of realised vol, in daily NIFTY log returns. */
export const RV_WINDOW = 20;
