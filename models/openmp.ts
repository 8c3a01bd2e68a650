/**
 * OpenMP settings of the native learners (libxgboost, lib_lightgbm; both use libgomp), applied to
 * the process environment before the first library loads (libgomp reads them once, at load time).
 * An operator's explicit value always wins.
 *
 * - `OMP_WAIT_POLICY=passive`: a thread that finds no work sleeps instead of spinning forever
 *   (libgomp's ACTIVE policy spins for ~30 billion iterations), so several steps on a small worker
 *   do not starve each other.
 * - `GOMP_SPINCOUNT=100000`: but first it spins ~100k iterations (tens of µs). A boosting round is
 *   many short parallel regions (one histogram pass per leaf); without the short spin every region
 *   pays a futex wake-up, and 2 threads on 2 cores ran LightGBM no faster than 1. Measured on this
 *   machine (2 cores, 430k × 20 rows, 60 rounds, 63 leaves; scratch runs quoted in docs/performance.md):
 *   passive alone 3.0–3.4 s, passive + 100k spins 1.95–2.1 s, one thread 4.15 s; two such fits at
 *   once (oversubscribed) 4.1–4.3 s each passive vs 5.0 s with the spin. The shipped pipelines run
 *   one fit at a time (queue `gpu`, concurrency 1), where the spin is a 1.5× gain.
 */
export function configureOpenMp(env: NodeJS.ProcessEnv = process.env): void {
  env.OMP_WAIT_POLICY ??= 'passive';
  env.GOMP_SPINCOUNT ??= '100000';
}

/**
 * Boosting rounds faster than this (ms) run on the main thread, each followed by a yield to the event
 * loop; once a round takes longer, the rest go to koffi's async worker so the event loop is never
 * held longer. A round on the worker is slower: LightGBM, 2 threads, 430k × 20 rows, 60 rounds of
 * ~35 ms: 2.3–2.7 s on the main thread vs 3.2–3.6 s on the worker (libgomp keeps a thread team per
 * calling thread, and the hand-off adds a few ms a round). At the study's ~40–100 ms rounds the old
 * 50 ms budget sent most rounds to the worker; one second of event loop held is harmless for
 * progress and activity heartbeats (seconds apart).
 */
export const SYNC_ROUND_BUDGET_MS = 1000;
