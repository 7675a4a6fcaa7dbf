/**
 * Text PostgreSQL cannot store: U+0000 (text, json and jsonb hold no NUL) and lone UTF-16
 * surrogates (json and jsonb refuse `\ud800` without its pair; a vendor's field cut to a length
 * limit between the two halves of an emoji gives one). One such string in one vendor record made
 * a statement fail, so its whole page, and every later run of the stream at that page: the sync
 * stages records with each such character replaced by U+FFFD (`storable`; the replacement
 * character, visible where it lands). GraphQL input is refused instead, naming the field
 * (`unstorableCharacter`, src/graph/storable-input.ts): the person sending it can fix it.
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

/** The value with U+0000 and lone surrogates replaced in every string and key (the value itself when it has none). */
export function storable<T>(value: T): T {
  if (typeof value === 'string') return storableString(value) as T;
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => storable(v)) as T;
  const proto = Object.getPrototypeOf(value);
  // Not plain data (a Date, a Buffer...): left as it is; JSON.stringify decides what it becomes.
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[storableString(k)] = storable(v);
  return out as T;
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

