import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

/** Default region for phones written without a country code. */
export const DEFAULT_PHONE_REGION = 'CN';

/** Full-width ASCII (U+FF01–U+FF5E) and the ideographic space to their half-width forms. */
export function toHalfWidth(input: string): string {
  return input
    .replace(/[\uFF01-\uFF5E]/g, (ch) => String.fromCharCode(ch.charCodeAt(0) - 0xfee0))
    .replace(/\u3000/g, ' ');
}

/**
 * A phone in any common written form to E.164, or null when it is not a valid number.
 * Uses full metadata so that wrong-length numbers are rejected, not guessed.
 */
export function normalizePhone(input: string | number | null | undefined, region = DEFAULT_PHONE_REGION): string | null {
  if (input === null || input === undefined) return null;
  const raw = String(input);
  const fast = chineseMobile(raw, region);
  if (fast !== null) return fast;
  if (raw.length > PHONE_MEMO_KEY_MAX) return parsePhone(raw, region);
  // Bulk paths (sync, Excel) normalize the same phone several times in a row (a customer and the
  // devices it owns); libphonenumber's validation is the costly part, and it is pure.
  const key = `${region}\u0000${raw}`;
  const known = phoneMemo.get(key);
  if (known !== undefined) return known;
  const e164 = parsePhone(raw, region);
  if (phoneMemo.size >= PHONE_MEMO_SIZE) phoneMemo.clear();
  phoneMemo.set(key, e164);
  return e164;
}

/** Bounded: emptied when full (a bulk load's repeats are close together); long text is not kept. */
const PHONE_MEMO_SIZE = 10_000;
const PHONE_MEMO_KEY_MAX = 40;
const phoneMemo = new Map<string, string | null>();

/**
 * libphonenumber itself, without the fast path or the memo: the reference the fast path is
 * tested against.
 *
 * An extension is part of the key, written the RFC 3966 way: `010-62345678 ext 8001` is
 * `+861062345678;ext=8001`, a different customer from `ext 8002` and from the switchboard
 * `+861062345678` (two people behind one switchboard are two customers). Besides libphonenumber's
 * own markers (`ext`, `x`, `#`, `;ext=`), the Chinese ways are read: `010-62345678转8001`,
 * `010-62345678 分机 8001`, and `010-62345678-8001` (1–6 digits after a hyphen, only when what comes
 * before is a complete landline, area code and 7–8 digits, the whole is not a valid number itself
 * and its digits are not shaped like a Chinese mobile). The same rule holds
 * for every kind of number: `13800138000 ext 12` keeps its `;ext=12`; a mobile with a hyphen and
 * digits after it is no number. Key forms are read back as themselves.
 */
export function parsePhone(raw: string, region: string): string | null {
  let text = toHalfWidth(raw).trim();
  if (!text) return null;
  // "(0086)138..." and "0086-138...": the international 00 prefix written with punctuation.
  text = text.replace(/^\(?\s*00\s*(\d{1,3})\s*\)?/, '+$1');
  // 转 ("transfer to") and 分机(号) ("extension"), with or without a colon.
  text = text.replace(/\s*(?:转|轉|分机号?|分機號?)\s*[:：]?\s*(?=\d)/g, ' ext ');
  const parsed = parsePhoneNumberFromString(text, region as any);
  if (parsed && parsed.isValid()) return parsed.ext ? `${parsed.number};ext=${parsed.ext}` : parsed.number;
  const dashExt = /^(.*\d)\s*-\s*(\d{1,6})$/.exec(text);
  if (!dashExt) return null;
  // Digits that look like a Chinese mobile (11 from a 1, after +86) are a mobile, valid or not: the
  // Excel and sync fast paths read them so, and "+86 109-5668-3336" is no Beijing 95668 ext 3336.
  const digits = text.replace(/\D/g, '');
  const national = text.startsWith('+') && digits.startsWith('86') ? digits.slice(2) : digits;
  if (national.length === 11 && national[0] === '1') return null;
  const line = parsePhoneNumberFromString(dashExt[1], region as any);
  // A complete landline: an area code and a 7- or 8-digit local number, 9 digits or more.
  if (!line || line.ext || !line.isValid() || line.nationalNumber.length < 9) return null;
  const type = line.getType();
  return type === 'FIXED_LINE' || type === 'FIXED_LINE_OR_MOBILE' ? `${line.number};ext=${dashExt[2]}` : null;
}

/**
 * Fast path for the most common input, a Chinese mobile (11 digits starting with 1, or +86 and
 * them) written with spaces, hyphens and full-width forms only: libphonenumber costs ~7 µs per
 * number. Whether such a number is valid depends only on its first 5 digits (CN's mobile pattern),
 * and that verdict is asked of libphonenumber itself, once per prefix, so results are the same.
 * Returns null when the input is anything else or its prefix is not a valid mobile prefix:
 * the caller then asks libphonenumber.
 */
function chineseMobile(raw: string, region: string): string | null {
  if (raw.length > 32) return null;
  let digits = '';
  let plus = false;
  for (let i = 0; i < raw.length; i++) {
    let c = raw.charCodeAt(i);
    if (c >= 0xff01 && c <= 0xff5e) c -= 0xfee0; // full-width ASCII
    if (c >= 48 && c <= 57) digits += String.fromCharCode(c);
    else if (c === 43 && !plus && digits === '') plus = true; // '+' before any digit
    else if (c !== 32 && c !== 45 && c !== 0x3000) return null; // only spaces and hyphens between
  }
  let national: string;
  if (plus) {
    if (digits.length !== 13 || !digits.startsWith('86')) return null;
    national = digits.slice(2);
  } else {
    if (region !== 'CN' || digits.length !== 11) return null;
    national = digits;
  }
  if (national.charCodeAt(0) !== 49) return null;
  const prefix = Number(national.slice(0, 5));
  let verdict = mobilePrefix[prefix];
  if (verdict === 0) verdict = mobilePrefix[prefix] = mobilePrefixVerdict(national.slice(0, 5));
  return verdict === VALID ? `+86${national}` : null;
}

const VALID = 1;
const NOT_FAST = 2;
/** By the 5-digit prefix (10000–19999 used): 0 = not asked yet, VALID, NOT_FAST. */
const mobilePrefix = new Uint8Array(100_000);

/** VALID when libphonenumber accepts every probe under the prefix, dialled both ways, as that number. */
function mobilePrefixVerdict(prefix: string): number {
  for (const rest of ['000000', '999999', '123456', '987650']) {
    const national = prefix + rest;
    const e164 = `+86${national}`;
    if (parsePhone(national, 'CN') !== e164 || parsePhone(e164, 'CN') !== e164) return NOT_FAST;
  }
  return VALID;
}

/** Serials are compared trimmed, upper-case, half-width, without inner whitespace. */
export function normalizeSerial(input: string | number | null | undefined): string | null {
  if (input === null || input === undefined) return null;
  const text = toHalfWidth(String(input)).replace(/\s+/g, '').toUpperCase();
  return text || null;
}

const TICKET_NUMBER = /^T(\d{8})-(\d{4,})$/;

/** Ticket numbers look like T20260218-8892; returns the canonical form or null. */
export function normalizeTicketNumber(input: string | null | undefined): string | null {
  if (!input) return null;
  const text = toHalfWidth(input).replace(/\s+/g, '').toUpperCase();
  return TICKET_NUMBER.test(text) ? text : null;
}

export type IdentifierKind = 'PHONE' | 'SERIAL' | 'TICKET_NUMBER';

export interface ClassifiedIdentifier {
  raw: string;
  ticketNumber: string | null;
  phone: string | null;
  serial: string | null;
}

/** An extension at the end of a written phone: ` ext 8001`, `x8001`, `#8001`, `;ext=8001`, `转8001`, `分机 8001`. */
const PHONE_EXTENSION = /(?:;\s*ext=|(?<![a-z])ext(?:ension)?\.?|(?<![a-z])x|#|转|轉|分机号?|分機號?)\s*:?\s*\d+\s*$/i;
/** What a written phone is made of, its extension aside: digits, spaces and + - ( ) . */
const PHONE_CHARACTERS = /^[\d\s+\-().]*\d[\d\s+\-().]*$/;

/**
 * Whether text can be a written phone at all: digits, spaces, `+ - ( ) .` (full-width too) and an
 * extension at the end. libphonenumber itself picks digits out of anything (`SN2026000123` →
 * +862026000123, `KFR13900139000` → +8613900139000), so text with letters would be read as a phone.
 */
export function looksLikePhone(raw: string): boolean {
  return PHONE_CHARACTERS.test(toHalfWidth(raw).replace(PHONE_EXTENSION, ''));
}

/**
 * Reads one free-text identifier every way it could be meant. A digit string can be both a
 * phone and a serial, so both candidates are kept and the lookup tries them in order; text with
 * letters (other than an extension marker) is no phone, only a serial.
 */
export function classifyIdentifier(raw: string): ClassifiedIdentifier {
  return {
    raw,
    ticketNumber: normalizeTicketNumber(raw),
    phone: looksLikePhone(raw) ? normalizePhone(raw) : null,
    serial: normalizeSerial(raw),
  };
}
