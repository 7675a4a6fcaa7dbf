/**
 * The built-in functions the fast path calls, each ported from jsonata 2.2.2 for the argument
 * types it accepts exactly as JSONata's signature check does; any other argument (null where a
 * string is expected, an array, a function, a missing required argument) bails, so JSONata gives
 * the answer or the error. The registered MAPPING_FUNCTIONS are called through the same
 * implementations the engine registers.
 */
import { MAPPING_FUNCTIONS } from '../functions';
import { bail } from './bail';
import { createSequence, isFunction, lookup, stringToArray, toBoolean, toJsonataString, typeOf } from './values';

/** A regex literal argument (JSONata compiles `/re/flags` with the g flag and resets lastIndex per use). */
export class RegexArg {
  constructor(readonly re: RegExp) {}
  /** JSONata's regex closure: the match at or after `from`, or undefined. */
  exec(str: string, from: number): RegExpExecArray | null {
    this.re.lastIndex = from;
    return this.re.exec(str);
  }
}

export interface Builtin {
  min: number;
  max: number;
  /** Argument positions that may be a regex literal. */
  regexArgs?: number[];
  impl: (args: any[]) => unknown;
}

const str = (v: unknown): string | undefined => {
  if (v === undefined || typeof v === 'string') return v;
  return bail();
};
const strRequired = (v: unknown): string => (typeof v === 'string' ? v : bail());
const num = (v: unknown): number | undefined => {
  if (v === undefined) return undefined;
  if (typeof v === 'number') return v;
  return bail();
};
const notFunction = (v: unknown): unknown => (typeof v === 'function' ? bail() : v);

/** fn.trim */
function trim(s: string): string {
  let result = s.replace(/[ \t\n\r]+/gm, ' ');
  if (result.charAt(0) === ' ') result = result.substring(1);
  if (result.charAt(result.length - 1) === ' ') result = result.substring(0, result.length - 1);
  return result;
}

/** fn.substring */
function substring(s: string, start: number, length: number | undefined): string {
  const strArray = stringToArray(s);
  const strLength = strArray.length;
  if (strLength + start < 0) start = 0;
  if (typeof length !== 'undefined') {
    if (length <= 0) return '';
    const end = start >= 0 ? start + length : strLength + start + length;
    return strArray.slice(start, end).join('');
  }
  return strArray.slice(start).join('');
}

/** The next match after one at `prev` (JSONata's `match.next()`): a zero-length one is error D1004. */
function nextMatch(re: RegexArg, s: string): RegExpExecArray | null {
  if (re.re.lastIndex >= s.length) return null;
  const next = re.exec(s, re.re.lastIndex);
  if (next && next[0] === '') bail();
  return next;
}

/** fn.replace's replacer for a string replacement ($0, $n, $$). */
function substitute(replacement: string, m: RegExpExecArray): string {
  const groups = m.slice(1);
  let out = '';
  let position = 0;
  let index = replacement.indexOf('$', position);
  while (index !== -1 && position < replacement.length) {
    out += replacement.substring(position, index);
    position = index + 1;
    const dollarVal = replacement.charAt(position);
    if (dollarVal === '$') {
      out += '$';
      position++;
    } else if (dollarVal === '0') {
      out += m[0];
      position++;
    } else {
      const maxDigits = groups.length === 0 ? 1 : Math.floor(Math.log(groups.length) * Math.LOG10E) + 1;
      index = parseInt(replacement.substring(position, position + maxDigits), 10);
      if (maxDigits > 1 && index > groups.length) index = parseInt(replacement.substring(position, position + maxDigits - 1), 10);
      if (!isNaN(index)) {
        if (groups.length > 0) {
          const submatch = groups[index - 1];
          if (typeof submatch !== 'undefined') out += submatch;
        }
        position += index.toString().length;
      } else {
        out += '$';
      }
    }
    index = replacement.indexOf('$', position);
  }
  return out + replacement.substring(position);
}

function replace(s: string, pattern: string | RegexArg, replacement: string): string {
  if (pattern === '') bail(); // D3010
  let result = '';
  let position = 0;
  if (typeof pattern === 'string') {
    let index = s.indexOf(pattern, position);
    while (index !== -1) {
      result += s.substring(position, index) + replacement;
      position = index + pattern.length;
      index = s.indexOf(pattern, position);
    }
    return result + s.substring(position);
  }
  let m = pattern.exec(s, 0);
  if (!m) return s;
  while (m) {
    result += s.substring(position, m.index) + substitute(replacement, m);
    position = m.index + m[0].length;
    m = nextMatch(pattern, s);
  }
  return result + s.substring(position);
}

/** datetime.toMillis without a picture accepts exactly this (jsonata's iso8601regex). */
const ISO8601 = /^\d{4}(-[01]\d)?(-[0-3]\d)?(T[0-2]\d:[0-5]\d:[0-5]\d)?(\.\d+)?([+-][0-2]\d:?[0-5]\d|Z)?$/;

const patternArg = (v: unknown): string | RegexArg => (typeof v === 'string' || v instanceof RegexArg ? v : bail());

export const BUILTINS: Record<string, Builtin> = {
  string: { min: 1, max: 1, impl: ([v]) => toJsonataString(v) },
  trim: { min: 1, max: 1, impl: ([v]) => (str(v) === undefined ? undefined : trim(v)) },
  uppercase: { min: 1, max: 1, impl: ([v]) => (str(v) === undefined ? undefined : (v as string).toUpperCase()) },
  lowercase: { min: 1, max: 1, impl: ([v]) => (str(v) === undefined ? undefined : (v as string).toLowerCase()) },
  length: { min: 1, max: 1, impl: ([v]) => (str(v) === undefined ? undefined : stringToArray(v).length) },
  substring: {
    min: 2,
    max: 3,
    impl: ([s, start, length]) => {
      const st = str(s);
      if (typeof start !== 'number') bail();
      const len = num(length);
      return st === undefined ? undefined : substring(st, start, len);
    },
  },
  substringBefore: {
    min: 2,
    max: 2,
    impl: ([s, chars]) => {
      const c = strRequired(chars);
      if (str(s) === undefined) return undefined;
      const pos = (s as string).indexOf(c);
      return pos > -1 ? (s as string).substr(0, pos) : s;
    },
  },
  substringAfter: {
    min: 2,
    max: 2,
    impl: ([s, chars]) => {
      const c = strRequired(chars);
      if (str(s) === undefined) return undefined;
      const pos = (s as string).indexOf(c);
      return pos > -1 ? (s as string).substr(pos + c.length) : s;
    },
  },
  contains: {
    min: 2,
    max: 2,
    regexArgs: [1],
    impl: ([s, token]) => {
      if (token !== undefined) patternArg(token);
      if (str(s) === undefined || token === undefined) return undefined;
      const t = token as string | RegexArg;
      return typeof t === 'string' ? (s as string).indexOf(t) !== -1 : t.exec(s as string, 0) !== null;
    },
  },
  replace: {
    min: 3,
    max: 3,
    regexArgs: [1],
    impl: ([s, pattern, replacement]) => {
      const p = patternArg(pattern);
      const r = strRequired(replacement);
      return str(s) === undefined ? undefined : replace(s as string, p, r);
    },
  },
  match: {
    min: 2,
    max: 2,
    regexArgs: [1],
    impl: ([s, regex]) => {
      if (!(regex instanceof RegexArg)) bail();
      if (str(s) === undefined) return undefined;
      const result = createSequence();
      let m = regex.exec(s as string, 0);
      while (m) {
        result.push({ match: m[0], index: m.index, groups: m.slice(1) });
        m = nextMatch(regex, s as string);
      }
      return result;
    },
  },
  split: {
    min: 2,
    max: 2,
    regexArgs: [1],
    impl: ([s, separator]) => {
      const sep = patternArg(separator);
      if (str(s) === undefined) return undefined;
      if (typeof sep === 'string') return (s as string).split(sep);
      const result: string[] = [];
      let m = sep.exec(s as string, 0);
      if (!m) return [s];
      let start = 0;
      while (m) {
        result.push((s as string).substring(start, m.index));
        start = m.index + m[0].length;
        m = nextMatch(sep, s as string);
      }
      result.push((s as string).substring(start));
      return result;
    },
  },
  join: {
    min: 1,
    max: 2,
    impl: ([strs, separator]) => {
      const sep = str(separator) ?? '';
      if (strs === undefined) return undefined;
      if (typeof strs === 'string') return strs; // a single string is wrapped into [strs]
      if (!Array.isArray(strs) || strs.some((s) => typeof s !== 'string')) bail(); // T0412
      return strs.join(sep);
    },
  },
  count: {
    min: 1,
    max: 1,
    impl: ([v]) => (v === undefined ? 0 : Array.isArray(notFunction(v)) ? (v as unknown[]).length : 1),
  },
  number: {
    min: 1,
    max: 1,
    impl: ([arg]) => {
      if (arg === undefined) return undefined;
      if (typeof arg === 'number') return arg;
      if (typeof arg === 'string' && /^-?[0-9]+(\.[0-9]+)?([Ee][-+]?[0-9]+)?$/.test(arg) && !isNaN(parseFloat(arg)) && isFinite(arg as unknown as number)) {
        return parseFloat(arg);
      }
      if (typeof arg === 'string' && /^(0[xX][0-9A-Fa-f]+)|(0[oO][0-7]+)|(0[bB][0-1]+)$/.test(arg)) return Number(arg);
      if (arg === true) return 1;
      if (arg === false) return 0;
      return bail(); // D3030, or T0410 for null / arrays / objects
    },
  },
  abs: { min: 1, max: 1, impl: ([v]) => (num(v) === undefined ? undefined : Math.abs(v)) },
  boolean: { min: 1, max: 1, impl: ([v]) => toBoolean(notFunction(v)) },
  not: { min: 1, max: 1, impl: ([v]) => (notFunction(v) === undefined ? undefined : !toBoolean(v)) },
  exists: { min: 1, max: 1, impl: ([v]) => typeof v !== 'undefined' },
  type: { min: 1, max: 1, impl: ([v]) => typeOf(v) },
  lookup: {
    min: 2,
    max: 2,
    impl: ([input, key]) => {
      // A missing key passes JSONata's signature (<x-s:x>) and is then looked up as "undefined".
      if ((typeof key !== 'string' && key !== undefined) || isFunction(input)) bail();
      return lookup(input, String(key));
    },
  },
  toMillis: {
    min: 1,
    max: 1,
    impl: ([ts]) => {
      if (str(ts) === undefined) return undefined;
      if (!ISO8601.test(ts as string)) bail(); // D3110
      return Date.parse(ts as string);
    },
  },
  error: { min: 0, max: 1, impl: () => bail() }, // D3137: the message and code come from JSONata
};

/** The registered helpers ($normalizePhone, ...), with their signatures' argument types. */
const sn = (v: unknown): unknown => (v === undefined || typeof v === 'string' || typeof v === 'number' ? v : bail());
/** name → [fewest arguments the signature accepts, a check per argument] */
const MAPPING_ARGS: Record<string, [number, Array<(v: unknown) => unknown>]> = {
  normalizePhone: [0, [sn]],
  normalizeSerial: [0, [sn]],
  parseDate: [0, [sn]],
  parseDateTime: [0, [sn]],
  addMonths: [2, [sn, num]],
  monthsBetween: [0, [sn, sn]],
};

for (const [name, [impl]] of Object.entries(MAPPING_FUNCTIONS)) {
  if (!MAPPING_ARGS[name]) continue; // a helper the fast path does not know: mappings calling it stay on JSONata
  const [min, checks] = MAPPING_ARGS[name];
  BUILTINS[name] = {
    min,
    max: checks.length,
    impl: (args) => {
      const checked = checks.map((check, i) => check(args[i]));
      return impl(...checked);
    },
  };
}

/** Every function name a mapping can call through JSONata (built-ins and registered): none may be rebound. */
export const FUNCTION_NAMES = new Set<string>([
  ...Object.keys(BUILTINS),
  ...Object.keys(MAPPING_FUNCTIONS),
  'now', 'millis', 'sum', 'max', 'min', 'average', 'pad', 'formatNumber', 'formatBase', 'formatInteger', 'parseInteger',
  'floor', 'ceil', 'round', 'sqrt', 'power', 'random', 'map', 'zip', 'filter', 'single', 'reduce', 'sift', 'keys',
  'append', 'spread', 'merge', 'reverse', 'each', 'assert', 'sort', 'shuffle', 'distinct', 'base64encode',
  'base64decode', 'encodeUrlComponent', 'encodeUrl', 'decodeUrlComponent', 'decodeUrl', 'eval', 'toMillis',
  'fromMillis', 'clone',
]);
