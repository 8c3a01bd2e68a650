/**
 * `got` (the MLflow tracker's HTTP client, ~25 modules) imported when an MLflow tracker is made
 * (tracking/mlflowRest.ts), so a process on the local tracker, the default, never loads it.
 */
type GotModule = typeof import('got');
let loaded: GotModule | undefined;

/** The got module, imported once. */
export async function loadGot(): Promise<GotModule> {
  return (loaded ??= await import('got'));
}

/** got's error classes once it is loaded; undefined before (no got error can exist then). */
export function gotErrors(): Pick<GotModule, 'HTTPError' | 'RequestError'> | undefined {
  return loaded;
}
