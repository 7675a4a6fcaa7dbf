/**
 * The slice of K3's FilterString / OrderString language the Kingdee connector sends (and an admin
 * typically configures): comparisons (= <> != > >= < <=), LIKE, IN (...), IS [NOT] NULL, AND /
 * OR / NOT and parentheses, string literals in single quotes ('' escapes a quote), numbers.
 * Anything else is refused with a FilterError, as K3 refuses SQL it cannot translate.
 *
 * Comparison semantics follow SQL Server with a case-insensitive collation: NULL compares false
 * (only IS NULL matches it), strings compare case-insensitively, datetime columns compare as
 * instants whether the literal is written `2026-02-18`, `2026-02-18 10:12:33.123` or with a `T`.
 */
import type { ColumnType } from './data';

export class FilterError extends Error {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'FilterError';
  }
}

type Literal = string | number;
/** A parsed FilterString. */
export type FilterNode = Node;
type Node =
  | { kind: 'and' | 'or'; left: Node; right: Node }
  | { kind: 'not'; expr: Node }
  | { kind: 'cmp'; field: string; op: string; value: Literal }
  | { kind: 'like'; field: string; pattern: string; negate: boolean }
  | { kind: 'in'; field: string; values: Literal[]; negate: boolean }
  | { kind: 'null'; field: string; negate: boolean };

type Token = { t: 'id' | 'str' | 'num' | 'op' | 'lp' | 'rp' | 'comma'; v: string; at: number };

const KEYWORDS = new Set(['AND', 'OR', 'NOT', 'IS', 'NULL', 'IN', 'LIKE']);

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'") {
      let s = '';
      let j = i + 1;
      for (;;) {
        if (j >= text.length) throw new FilterError(`过滤条件语法错误: 字符串未结束 (位置 ${i})`);
        if (text[j] === "'") {
          if (text[j + 1] === "'") {
            s += "'";
            j += 2;
            continue;
          }
          break;
        }
        s += text[j++];
      }
      out.push({ t: 'str', v: s, at: i });
      i = j + 1;
    } else if (/[0-9]/.test(c) || (c === '-' && /[0-9]/.test(text[i + 1] ?? ''))) {
      const m = /^-?\d+(\.\d+)?/.exec(text.slice(i))!;
      out.push({ t: 'num', v: m[0], at: i });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(text.slice(i))!;
      out.push({ t: 'id', v: m[0], at: i });
      i += m[0].length;
    } else if (c === '(' || c === ')' || c === ',') {
      out.push({ t: c === '(' ? 'lp' : c === ')' ? 'rp' : 'comma', v: c, at: i });
      i++;
    } else {
      const m = /^(<>|!=|>=|<=|=|>|<)/.exec(text.slice(i));
      if (!m) throw new FilterError(`过滤条件语法错误: 无法识别的字符 "${c}" (位置 ${i})`);
      out.push({ t: 'op', v: m[0], at: i });
      i += m[0].length;
    }
  }
  return out;
}

class Parser {
  private i = 0;
  constructor(private readonly tokens: Token[]) {}

  parse(): Node {
    const node = this.or();
    if (this.i < this.tokens.length) throw this.error('多余的内容');
    return node;
  }

  private peek(): Token | undefined {
    return this.tokens[this.i];
  }

  private keyword(word: string): boolean {
    const t = this.peek();
    if (t?.t === 'id' && t.v.toUpperCase() === word) {
      this.i++;
      return true;
    }
    return false;
  }

  private error(what: string): FilterError {
    const t = this.peek();
    return new FilterError(`过滤条件语法错误: ${what}${t ? ` (位置 ${t.at} "${t.v}")` : ' (结尾)'}`);
  }

  private or(): Node {
    let left = this.and();
    while (this.keyword('OR')) left = { kind: 'or', left, right: this.and() };
    return left;
  }

  private and(): Node {
    let left = this.unary();
    while (this.keyword('AND')) left = { kind: 'and', left, right: this.unary() };
    return left;
  }

  private unary(): Node {
    if (this.keyword('NOT')) return { kind: 'not', expr: this.unary() };
    const t = this.peek();
    if (t?.t === 'lp') {
      this.i++;
      const inner = this.or();
      if (this.peek()?.t !== 'rp') throw this.error('缺少 ")"');
      this.i++;
      return inner;
    }
    return this.predicate();
  }

  private literal(): Literal {
    const t = this.peek();
    if (t?.t === 'str') {
      this.i++;
      return t.v;
    }
    if (t?.t === 'num') {
      this.i++;
      return Number(t.v);
    }
    throw this.error('应为常量');
  }

  private predicate(): Node {
    const t = this.peek();
    if (t?.t !== 'id' || KEYWORDS.has(t.v.toUpperCase())) throw this.error('应为字段名');
    this.i++;
    const field = t.v;
    if (this.keyword('IS')) {
      const negate = this.keyword('NOT');
      if (!this.keyword('NULL')) throw this.error('应为 NULL');
      return { kind: 'null', field, negate };
    }
    const negate = this.keyword('NOT');
    if (this.keyword('LIKE')) {
      const pattern = this.literal();
      return { kind: 'like', field, pattern: String(pattern), negate };
    }
    if (this.keyword('IN')) {
      if (this.peek()?.t !== 'lp') throw this.error('IN 后应为 "("');
      this.i++;
      const values = [this.literal()];
      while (this.peek()?.t === 'comma') {
        this.i++;
        values.push(this.literal());
      }
      if (this.peek()?.t !== 'rp') throw this.error('缺少 ")"');
      this.i++;
      return { kind: 'in', field, values, negate };
    }
    if (negate) throw this.error('NOT 后应为 LIKE 或 IN');
    const op = this.peek();
    if (op?.t !== 'op') throw this.error('应为比较运算符');
    this.i++;
    return { kind: 'cmp', field, op: op.v === '!=' ? '<>' : op.v, value: this.literal() };
  }
}

/** Resolves a field key against a form's columns, case-insensitively. */
export function resolveColumn(columns: Record<string, ColumnType>, key: string): string | undefined {
  if (key in columns) return key;
  const lower = key.toLowerCase();
  return Object.keys(columns).find((c) => c.toLowerCase() === lower);
}

type Value = string | number | null | undefined;

const DATETIME_KEYS = new Map<string, string | undefined>();
const DATETIME_KEYS_MAX = 200_000;

/**
 * `YYYY-MM-DD[ T]HH:mm:ss[.f…]` or a date → a string that sorts as the instant does. Remembered:
 * a page sorted by FModifyDate compares the same few thousand values over and over (a real K3
 * answers keyset pages from an index; without this the sandbox spent most of a sync in the regex).
 */
export function datetimeKey(v: string): string | undefined {
  if (DATETIME_KEYS.has(v)) return DATETIME_KEYS.get(v);
  if (DATETIME_KEYS.size >= DATETIME_KEYS_MAX) DATETIME_KEYS.clear();
  const key = parseDatetimeKey(v);
  DATETIME_KEYS.set(v, key);
  return key;
}

function parseDatetimeKey(v: string): string | undefined {
  const m = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?)?$/.exec(v.trim());
  if (!m) return undefined;
  const p = (s: string | undefined, n: number) => (s ?? '0').padStart(n, '0');
  return `${m[1]}-${p(m[2], 2)}-${p(m[3], 2)} ${p(m[4], 2)}:${p(m[5], 2)}:${p(m[6], 2)}.${(m[7] ?? '').padEnd(7, '0')}`;
}

let pos = 0; // datetimeOrdinal's read position

/** Up to `max` digits of `v` at `pos` as a number; NaN when fewer than `min`. */
function digits(v: string, min: number, max: number): number {
  let x = 0;
  const start = pos;
  while (pos < v.length && pos - start < max) {
    const c = v.charCodeAt(pos) - 48;
    if (c < 0 || c > 9) break;
    x = x * 10 + c;
    pos++;
  }
  return pos - start < min ? NaN : x;
}

/**
 * A datetime in the common shape (`YYYY-M-D[ T]H:mm[:ss[.f…]]`, no surrounding blanks, fields in
 * their calendar ranges) as two numbers that order exactly as `datetimeKey` does: the fields down
 * to the millisecond, returned, and the rest of the 7-digit fraction (0–9999), written to
 * `rest[at]`. NaN for anything else: callers then fall back to `compareValues`. No regex and no
 * allocation, so a query can key every row of a form each time.
 */
export function datetimeOrdinal(v: string, rest: Float64Array, at: number): number {
  pos = 0;
  const n = v.length;
  const y = digits(v, 4, 4);
  if (v.charCodeAt(pos++) !== 45) return NaN; // -
  const mo = digits(v, 1, 2);
  if (v.charCodeAt(pos++) !== 45) return NaN;
  const d = digits(v, 1, 2);
  let h = 0;
  let mi = 0;
  let s = 0;
  let frac = 0;
  if (pos < n) {
    const sep = v.charCodeAt(pos++);
    if (sep !== 32 && sep !== 84) return NaN; // ' ' or 'T'
    h = digits(v, 1, 2);
    if (v.charCodeAt(pos++) !== 58) return NaN; // :
    mi = digits(v, 2, 2);
    if (pos < n) {
      if (v.charCodeAt(pos++) !== 58) return NaN;
      s = digits(v, 2, 2);
      if (pos < n) {
        if (v.charCodeAt(pos++) !== 46) return NaN; // .
        const start = pos;
        frac = digits(v, 1, 7);
        for (let k = pos - start; k < 7; k++) frac *= 10;
      }
    }
  }
  if (pos !== n || !(mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h <= 23 && mi <= 59 && s <= 59)) return NaN;
  rest[at] = frac % 10000;
  // Mixed radix, every field below its radix: the number orders as the field tuple does.
  return (((((y * 12 + mo - 1) * 31 + d - 1) * 24 + h) * 60 + mi) * 60 + s) * 1000 + Math.floor(frac / 10000);
}

/**
 * `value compared with literal` for one column type, the literal's side worked out once (a filter
 * compares every row of the form with the same few literals). Same result as `compareValues`.
 */
export function literalComparer(type: ColumnType, literal: Literal): (value: Literal) => number {
  if (type === 'number') {
    const y = Number(literal);
    return (a) => {
      const x = Number(a);
      return x < y ? -1 : x > y ? 1 : 0;
    };
  }
  if (type === 'datetime') {
    const rest = new Float64Array(2);
    const yHi = datetimeOrdinal(String(literal), rest, 1);
    const yLo = rest[1];
    if (Number.isNaN(yHi)) return (a) => compareValues(type, a, literal);
    return (a) => {
      const xHi = typeof a === 'string' ? datetimeOrdinal(a, rest, 0) : NaN;
      if (Number.isNaN(xHi)) return compareValues(type, a, literal);
      if (xHi !== yHi) return xHi < yHi ? -1 : 1;
      return rest[0] < yLo ? -1 : rest[0] > yLo ? 1 : 0;
    };
  }
  const y = String(literal).toLowerCase();
  return (a) => {
    const x = String(a).toLowerCase();
    return x < y ? -1 : x > y ? 1 : 0;
  };
}

/** Orders two non-null values of one column type the way the database would. */
export function compareValues(type: ColumnType, a: Literal, b: Literal): number {
  if (type === 'number') {
    const x = Number(a);
    const y = Number(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (type === 'datetime') {
    const x = datetimeKey(String(a));
    const y = datetimeKey(String(b));
    if (x === undefined || y === undefined) throw new FilterError(`日期格式错误: ${x === undefined ? a : b}`);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  const x = String(a).toLowerCase();
  const y = String(b).toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
}

function likeRegex(pattern: string): RegExp {
  const body = pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/%/g, '.*').replace(/_/g, '.');
  return new RegExp(`^${body}$`, 'is');
}

export type RowPredicate = (row: Record<string, Value>) => boolean;

/** Parses a FilterString; undefined for an empty one. Throws FilterError on a syntax error. */
export function parseFilter(text: string): FilterNode | undefined {
  return text.trim() ? new Parser(tokenize(text)).parse() : undefined;
}

/** Compiles a FilterString for one form; an empty filter matches every row. */
export function compileFilter(text: string, columns: Record<string, ColumnType>): RowPredicate {
  const ast = parseFilter(text);
  return ast ? compileNode(ast, columns) : () => true;
}

/** Compiles a parsed filter (or a part of one) for one form; unknown fields throw FilterError. */
export function compileNode(ast: FilterNode, columns: Record<string, ColumnType>): RowPredicate {
  const column = (field: string) => {
    const c = resolveColumn(columns, field);
    if (!c) throw new FilterError(`过滤条件中的字段"${field}"不存在`, field);
    return { name: c, type: columns[c] };
  };
  const build = (n: Node): RowPredicate => {
    switch (n.kind) {
      case 'and': {
        const l = build(n.left);
        const r = build(n.right);
        return (row) => l(row) && r(row);
      }
      case 'or': {
        const l = build(n.left);
        const r = build(n.right);
        return (row) => l(row) || r(row);
      }
      case 'not': {
        const e = build(n.expr);
        return (row) => !e(row);
      }
      case 'null': {
        const c = column(n.field);
        return (row) => (row[c.name] === null || row[c.name] === undefined) !== n.negate;
      }
      case 'like': {
        const c = column(n.field);
        const re = likeRegex(n.pattern);
        return (row) => {
          const v = row[c.name];
          return v === null || v === undefined ? false : re.test(String(v)) !== n.negate;
        };
      }
      case 'in': {
        const c = column(n.field);
        const tests = n.values.map((x) => literalComparer(c.type, x));
        return (row) => {
          const v = row[c.name];
          if (v === null || v === undefined) return false;
          return tests.some((t) => t(v) === 0) !== n.negate;
        };
      }
      case 'cmp': {
        const c = column(n.field);
        if (c.type === 'datetime' && datetimeKey(String(n.value)) === undefined) {
          throw new FilterError(`日期格式错误: ${n.value}`, n.field);
        }
        const compare = literalComparer(c.type, n.value);
        return (row) => {
          const v = row[c.name];
          if (v === null || v === undefined) return false;
          const d = compare(v);
          switch (n.op) {
            case '=':
              return d === 0;
            case '<>':
              return d !== 0;
            case '>':
              return d > 0;
            case '>=':
              return d >= 0;
            case '<':
              return d < 0;
            default:
              return d <= 0;
          }
        };
      }
    }
  };
  return build(ast);
}

export type RowComparator = (a: Record<string, Value>, b: Record<string, Value>) => number;

export interface OrderPart {
  name: string;
  type: ColumnType;
  dir: 1 | -1;
}

/** `FModifyDate ASC,FID DESC` → its parts, field keys resolved. */
export function parseOrder(text: string, columns: Record<string, ColumnType>): OrderPart[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((part) => {
      const m = /^([A-Za-z_][A-Za-z0-9_.]*)(?:\s+(ASC|DESC))?$/i.exec(part);
      if (!m) throw new FilterError(`排序条件语法错误: "${part}"`);
      const name = resolveColumn(columns, m[1]);
      if (!name) throw new FilterError(`排序字段"${m[1]}"不存在`, m[1]);
      return { name, type: columns[name], dir: m[2]?.toUpperCase() === 'DESC' ? -1 : 1 };
    });
}

/** `FModifyDate ASC,FID DESC` → comparator; NULL sorts first ascending, as in SQL Server. */
export function compileOrder(text: string, columns: Record<string, ColumnType>): RowComparator {
  return orderComparator(parseOrder(text, columns));
}

export function orderComparator(parts: OrderPart[]): RowComparator {
  return (a, b) => {
    for (const p of parts) {
      const x = a[p.name];
      const y = b[p.name];
      const xn = x === null || x === undefined;
      const yn = y === null || y === undefined;
      const d = xn && yn ? 0 : xn ? -1 : yn ? 1 : compareValues(p.type, x, y);
      if (d !== 0) return d * p.dir;
    }
    return 0;
  };
}
