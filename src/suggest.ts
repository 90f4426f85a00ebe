/** Edit distance (insertions, deletions, substitutions, adjacent swaps), for did-you-mean hints. */
function distance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The candidate a typo most likely meant: within a third of its length (at least 1, at most 3) of
 * edits, or one that starts with what was typed; undefined when nothing is close enough.
 */
export function closest(typed: string, candidates: readonly string[]): string | undefined {
  if (typed === '') return undefined;
  const limit = Math.max(1, Math.min(3, Math.floor(typed.length / 3)));
  let best: { candidate: string; score: number } | undefined;
  for (const candidate of candidates) {
    if (candidate === typed) continue;
    const score = candidate.startsWith(typed) ? 0.5 : distance(typed.toLowerCase(), candidate.toLowerCase());
    if (score <= limit && (best === undefined || score < best.score)) best = { candidate, score };
  }
  return best?.candidate;
}

/** ` (did you mean "x"?)`, or '' when nothing is close. */
export function didYouMean(typed: string, candidates: readonly string[]): string {
  const guess = closest(typed, candidates);
  return guess === undefined ? '' : `did you mean ${JSON.stringify(guess)}? `;
}
