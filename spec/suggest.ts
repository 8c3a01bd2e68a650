import { closest, distance } from 'fastest-levenshtein';

/** "did you mean" hint for `word` among `candidates`, or a list of the allowed ones. */
export function suggest(word: string, candidates: readonly string[], what = 'allowed'): string {
  if (candidates.length === 0) return `there are no ${what} to choose from`;
  const best = closest(word, candidates as string[]);
  if (best && distance(word, best) <= Math.max(2, Math.floor(word.length / 3))) return `did you mean "${best}"?`;
  const shown = candidates.length > 30 ? [...candidates.slice(0, 30), `… (${candidates.length - 30} more)`] : candidates;
  return `${what}: ${shown.join(', ')}`;
}
