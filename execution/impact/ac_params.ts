import type { LobSession } from '../../lob/types.ts';
import type { AcParams } from '../schedules/almgren_chriss.ts';
import { bookTemporaryImpact, midVolatility } from './book_profile.ts';
import { permanentImpact } from './impact.ts';
import type { TimeGrid } from './tape.ts';

/** Almgren–Chriss parameters calibrated from one session, with where each came from. */
export interface CalibratedAc {
  params: AcParams;
  /** Interval length τ (seconds) the η mapping assumes. */
  tauSeconds: number;
  sources: { sigma: string; gamma: string; eta: string; epsilon: string };
  /** Book-walk slope η̂ (USD per share per share) before the ×τ mapping. */
  etaHatUsdPerShare: number;
}

/**
 * Calibrates AC (2000) inputs from the book of `s` (optionally only over `grid`, e.g. the training
 * part of the day): σ = std of 1-s mid changes (USD/√s); γ = permanent impact slope at
 * `permanentHorizonSeconds` (USD/share²; floored at 0 when the estimate is negative); ε and η̂ from
 * the linear fit of the book-walk cost on size (USD/share, USD/share²) and η = η̂·τ, since a child
 * of n shares executed at once every τ seconds pays ε + η̂·n = ε + η·n/τ per share.
 */
export function calibrateAc(s: LobSession, tauSeconds: number, opts: { sizes?: number[]; permanentHorizonSeconds?: number; grid?: TimeGrid; reps?: number } = {}): CalibratedAc {
  if (!(tauSeconds > 0)) throw new RangeError(`τ must be > 0 seconds, got ${tauSeconds}`);
  const h = opts.permanentHorizonSeconds ?? 30;
  const vol = midVolatility(s, { grid: opts.grid, reps: opts.reps ?? 100 });
  const range = opts.grid ? { from: opts.grid.t0, to: opts.grid.times[opts.grid.times.length - 1] } : {};
  const perm = permanentImpact(s, [h], range)[0]!;
  const temp = bookTemporaryImpact(s, opts.sizes ?? [100, 200, 300, 500], { grid: opts.grid, reps: opts.reps ?? 50 });
  const etaHat = Math.max(0, temp.etaUsdPerShare.value);
  return {
    params: { sigma: vol.usdPerSqrtSecond, gamma: Math.max(0, perm.gammaUsdPerShare2), eta: etaHat * tauSeconds, epsilon: temp.epsilonUsd.value },
    tauSeconds,
    etaHatUsdPerShare: etaHat,
    sources: {
      sigma: `std of 1-s mid log returns ${vol.bpsPerSqrtSecond.value.toFixed(3)} bps/√s × mean mid $${vol.meanMidUsd.toFixed(2)}`,
      gamma: `permanent impact ${perm.bpsPer100Shares.value.toFixed(3)} bps/100 sh at ${h}s (OLS, ${perm.buckets} buckets)`,
      eta: `book-walk slope ${etaHat.toExponential(3)} USD/sh² × τ ${tauSeconds}s`,
      epsilon: `book-walk intercept (≈ half-spread) $${temp.epsilonUsd.value.toFixed(4)}/sh`,
    },
  };
}
