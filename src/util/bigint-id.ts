/** Largest PostgreSQL bigint (2^63 − 1): every row id is one. */
const MAX_BIGINT = 9223372036854775807n;

/**
 * Whether a string is a row id PostgreSQL can take as a bigint: 1 to 19 digits, at most 2^63 − 1.
 * Larger numbers fail inside SQL ("out of range"), so every id from a client is checked with this.
 */
export function isBigintId(id: unknown): id is string {
  return typeof id === 'string' && /^\d{1,19}$/.test(id) && BigInt(id) <= MAX_BIGINT;
}
