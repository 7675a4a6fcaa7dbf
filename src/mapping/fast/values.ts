/**
 * JSONata's value model, ported line by line from jsonata 2.2.2 (functions of the same names):
 * sequences are arrays flagged `sequence` (an own enumerable property, as JSONata sets it),
 * singleton sequences unwrap, array constructors are flagged `cons`. Anything JSONata would
 * throw for bails instead (see bail.ts), so errors always come from JSONata.
 */
import { bail } from './bail';

export type Seq = any[] & { sequence?: boolean; keepSingleton?: boolean; outerWrapper?: boolean; cons?: boolean };

export function createSequence(...items: unknown[]): Seq {
  const s: Seq = [];
  s.sequence = true;
  if (items.length === 1) s.push(items[0]);
  return s;
}

export function isSequence(value: any): boolean {
  return value.sequence === true && Array.isArray(value);
}

/** JSONata's isFunction: a native function or a JSONata function/lambda object. */
export function isFunction(arg: any): boolean {
  return (arg && (arg._jsonata_function === true || arg._jsonata_lambda === true)) || typeof arg === 'function';
}

/** isNumeric; JSONata throws D1001 on an infinite number. */
export function isNumeric(n: unknown): n is number {
  if (typeof n !== 'number') return false;
  if (Number.isNaN(n)) return false;
  if (!Number.isFinite(n)) bail();
  return true;
}

export function isArrayOfNumbers(arg: unknown): boolean {
  return Array.isArray(arg) && arg.filter((item) => !isNumeric(item)).length === 0;
}

/** The tail of JSONata's evaluate(): empty sequence → undefined, singleton → its item. */
export function normalize(result: any, keepArray: boolean): any {
  if (result && isSequence(result) && !result.tupleStream) {
    if (keepArray) result.keepSingleton = true;
    if (result.length === 0) return undefined;
    if (result.length === 1) return result.keepSingleton ? result : result[0];
  }
  return result;
}

/** fn.lookup: a field of an object, mapped (and flattened one level) over arrays. */
export function lookup(input: any, key: string): any {
  let result: any;
  if (Array.isArray(input)) {
    result = createSequence();
    for (let ii = 0; ii < input.length; ii++) {
      const res = lookup(input[ii], key);
      if (typeof res !== 'undefined') {
        if (Array.isArray(res)) res.forEach((val) => result.push(val));
        else result.push(res);
      }
    }
  } else if (input !== null && typeof input === 'object' && Object.prototype.hasOwnProperty.call(input, key) && !isFunction(input)) {
    result = input[key];
  }
  return result;
}

/** fn.append (no sequence size limit: the engine sets none). */
export function append(arg1: any, arg2: any): any {
  if (typeof arg1 === 'undefined') return arg2;
  if (typeof arg2 === 'undefined') return arg1;
  if (!Array.isArray(arg1)) arg1 = createSequence(arg1);
  if (!Array.isArray(arg2)) arg2 = [arg2];
  return arg1.concat(arg2);
}

/** fn.boolean: effective boolean value (undefined stays undefined). */
export function toBoolean(arg: any): boolean | undefined {
  if (typeof arg === 'undefined') return undefined;
  let result = false;
  if (Array.isArray(arg)) {
    if (arg.length === 1) result = toBoolean(arg[0]) as boolean;
    else if (arg.length > 1) result = arg.filter((val) => toBoolean(val)).length > 0;
  } else if (typeof arg === 'string') {
    if (arg.length > 0) result = true;
  } else if (isNumeric(arg)) {
    if (arg !== 0) result = true;
  } else if (arg !== null && typeof arg === 'object' && !isFunction(arg)) {
    if (Object.keys(arg).length > 0) result = true;
  } else if (typeof arg === 'boolean' && arg === true) {
    result = true;
  }
  return result;
}

export function boolize(value: any): boolean {
  const b = toBoolean(value);
  return typeof b === 'undefined' ? false : b;
}

/** fn.string without prettify; functions (which only JSONata makes) bail. */
export function toJsonataString(arg: any): string | undefined {
  if (typeof arg === 'undefined') return undefined;
  if (typeof arg === 'string') return arg;
  if (isFunction(arg)) bail();
  if (typeof arg === 'number' && !Number.isFinite(arg)) bail(); // D3001
  if (Array.isArray(arg) && (arg as Seq).outerWrapper) arg = arg[0];
  return JSON.stringify(arg, (_key, val) => {
    if (typeof val !== 'undefined' && val !== null && isNumeric(val)) {
      return !Number.isInteger(val) ? Number(val.toPrecision(15)) : val;
    }
    if (val && isFunction(val)) bail();
    return val;
  });
}

/** isDeepEqual (the `=` operator). */
export function isDeepEqual(lhs: any, rhs: any): boolean {
  if (lhs === rhs) return true;
  if (typeof lhs === 'object' && typeof rhs === 'object' && lhs !== null && rhs !== null) {
    if (Array.isArray(lhs) && Array.isArray(rhs)) {
      if (lhs.length !== rhs.length) return false;
      for (let ii = 0; ii < lhs.length; ii++) if (!isDeepEqual(lhs[ii], rhs[ii])) return false;
      return true;
    }
    let lkeys = Object.getOwnPropertyNames(lhs);
    let rkeys = Object.getOwnPropertyNames(rhs);
    if (lkeys.length !== rkeys.length) return false;
    lkeys = lkeys.sort();
    rkeys = rkeys.sort();
    for (let ii = 0; ii < lkeys.length; ii++) if (lkeys[ii] !== rkeys[ii]) return false;
    for (const key of lkeys) if (!isDeepEqual(lhs[key], rhs[key])) return false;
    return true;
  }
  return false;
}

/** fn.type; a function value bails. */
export function typeOf(value: any): string | undefined {
  if (value === undefined) return undefined;
  if (value === null) return 'null';
  if (isNumeric(value)) return 'number';
  if (typeof value === 'string') return 'string';
  if (typeof value === 'boolean') return 'boolean';
  if (Array.isArray(value)) return 'array';
  if (isFunction(value)) bail();
  return 'object';
}

export function stringToArray(str: string): string[] {
  const arr: string[] = [];
  for (const char of str) arr.push(char);
  return arr;
}
