/**
 * Text PostgreSQL cannot store: U+0000 (text and jsonb hold no NUL; a json value holding the escape
 * `\u0000` is accepted, but `->>`, `json_to_recordset` and any conversion to jsonb refuse it) and
 * lone UTF-16 surrogates (jsonb, and json as soon as it is de-escaped, refuse `\ud800` without its
 * pair; a vendor's field cut to a length limit between the two halves of an emoji gives one). One
 * such string in one vendor record made a statement fail, so its whole page, and every later run of
 * the stream at that page: the sync stages records with each such character replaced by U+FFFD
 * (`storable`; the replacement character, visible where it lands). GraphQL input is refused
 * instead, naming the field (`unstorableCharacter`, src/graph/storable-input.ts): the person
 * sending it can fix it.
 */
// eslint-disable-next-line no-control-regex -- U+0000 is what this looks for
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const FIRST_UNSTORABLE = new RegExp(UNSTORABLE.source);
const REPLACEMENT = '\uFFFD';

function storableString(s: string): string {
  return s.replace(UNSTORABLE, REPLACEMENT);
}

/** The first character of `s` PostgreSQL cannot store, described for a person ("U+0000", "an unpaired surrogate U+D83D"); null when there is none. */
export function unstorableCharacter(s: string): string | null {
  const m = FIRST_UNSTORABLE.exec(s);
  if (!m) return null;
  const code = m[0].charCodeAt(0);
  const hex = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  return code === 0 ? hex : `an unpaired surrogate ${hex}`;
}

/**
 * The value with U+0000 and lone surrogates replaced in every string and key. Strings without one
 * come back as they are; objects and arrays are always copied (call it when `jsonMayHoldUnstorable`
 * says there may be one).
 */
export function storable<T>(value: T): T {
  if (typeof value === 'string') return storableString(value) as T;
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => storable(v)) as T;
  const proto = Object.getPrototypeOf(value);
  // Not plain data (a Date, a Buffer...): left as it is; JSON.stringify decides what it becomes.
  if (proto !== Object.prototype && proto !== null) return value;
  // fromEntries defines each key as an own property: `out[k] = v` with k "__proto__" would set the prototype instead.
  return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [storableString(k), storable(v)])) as T;
}

/**
 * Whether JSON text as JSON.stringify writes it may hold such a character: it writes U+0000 as
 * `\u0000` and a lone surrogate as `\udXXX` (a paired one as itself). A backslash typed before
 * "u0000" also matches; `storable` then changes nothing.
 */
export function jsonMayHoldUnstorable(json: string): boolean {
  return json.includes('\\u0000') || /\\ud[89a-f]/.test(json);
}

/**
 * JSON.stringify for a json/jsonb parameter, with characters PostgreSQL cannot store replaced by
 * U+FFFD (a copy is made only when the text shows one may be there). For values from outside that
 * are recorded, not checked: a vendor's response or error, a target's current value.
 */
export function storableJson(value: unknown): string {
  const json = JSON.stringify(value);
  return json !== undefined && jsonMayHoldUnstorable(json) ? JSON.stringify(storable(value)) : json;
}

/**
 * Bytes (UTF-8) of text that is a key or indexed where it is stored. A btree entry holds at most
 * ~2.7 KB (a third of a page), with the other columns of a composite key: a longer value failed its
 * statement, so its page (and every later run of a sync stream at that page).
 */
export const INDEX_KEY_MAX_BYTES = 2000;

/** The UTF-8 size of `s` when it is over INDEX_KEY_MAX_BYTES; null when it fits. */
export function tooLongToIndex(s: string): number | null {
  // Each UTF-16 unit is at most 3 bytes in UTF-8: short strings need no count.
  if (s.length * 3 <= INDEX_KEY_MAX_BYTES) return null;
  const bytes = Buffer.byteLength(s, 'utf8');
  return bytes > INDEX_KEY_MAX_BYTES ? bytes : null;
}

