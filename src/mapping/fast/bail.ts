/**
 * The fast path's way out: whenever a record leaves the happy path (an operand of a type the fast
 * path does not handle exactly like JSONata, a built-in argument it does not take, anything
 * JSONata would throw for), the fast path throws BAIL and the engine evaluates that record with
 * JSONata itself. The fast path only builds new values, so nothing is left half-done.
 */
export const BAIL: unique symbol = Symbol('jsonata-fast-bail');

export function bail(): never {
  throw BAIL;
}

/** What `evaluateSync` returns when the record must go through JSONata. */
export const BAILED: unique symbol = Symbol('jsonata-fast-bailed');
