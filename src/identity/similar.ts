import families from './model-families.json';

/**
 * Edit distance with adjacent transpositions counted as one edit (optimal string alignment):
 * the four one-character typos (a character more, one less, a wrong one, two swapped) are all 1.
 */
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  let prev2: number[] = [];
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  for (let i = 1; i <= m; i++) {
    const cur = [i];
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, prev2[j - 2] + 1);
      cur.push(v);
    }
    prev2 = prev;
    prev = cur;
  }
  return prev[n];
}

export type TypoKind = 'EXTRA_CHARACTER' | 'MISSING_CHARACTER' | 'WRONG_CHARACTER' | 'SWAPPED_CHARACTERS' | 'OTHER';

/** What the typed text did to the known one, in words a portal can show. */
export function typoKind(typed: string, known: string): TypoKind {
  const d = editDistance(typed, known);
  if (d !== 1) return 'OTHER';
  if (typed.length === known.length + 1) return 'EXTRA_CHARACTER';
  if (typed.length + 1 === known.length) return 'MISSING_CHARACTER';
  for (let i = 0; i < typed.length - 1; i++) {
    if (typed[i] !== known[i]) return typed[i] === known[i + 1] && typed[i + 1] === known[i] ? 'SWAPPED_CHARACTERS' : 'WRONG_CHARACTER';
  }
  return 'WRONG_CHARACTER';
}

/** Models compare trimmed, upper-case, single-spaced (`dsl-k20  pro` is `DSL-K20 Pro`). */
export function modelKey(model: string): string {
  return model.trim().replace(/\s+/g, ' ').toUpperCase();
}

const FAMILY = new RegExp(families.familyPattern, 'i');

/** The model's family (see model-families.json): KFR-72LW/N8HR3 → KFR-72LW. */
export function modelFamily(model: string | null | undefined): string | null {
  if (!model) return null;
  const key = modelKey(model);
  return FAMILY.exec(key)?.[0] ?? key;
}
