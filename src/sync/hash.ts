import { hash } from 'crypto';

/**
 * JSON with object keys sorted, so the same content always hashes the same. source_record.hash
 * holds hashes of this exact text: it must never change (hash.test.ts keeps the first version).
 */
export function canonicalJson(value: unknown): string {
  return new CanonicalWriter().write(value);
}

export function contentHash(value: unknown): string {
  return hash('sha256', canonicalJson(value), 'hex');
}

/** A value's canonical text, its hash, and text to store it as JSON (the same text when it can be). */
export interface Hashed {
  hash: string;
  /** Parses to what JSON.stringify(value) gives (key order aside): the canonical text when the value is plain JSON data. */
  json: string;
}

/**
 * contentHash and a JSON text of the value from one walk: records are staged as JSON, and their
 * canonical text is valid JSON of the same data whenever the value holds only plain objects,
 * arrays, strings, numbers, booleans and null (anything else, e.g. a Date, is stringified again).
 */
export function hashedJson(value: unknown): Hashed {
  const writer = new CanonicalWriter();
  const text = writer.write(value);
  return { hash: hash('sha256', text, 'hex'), json: writer.plain ? text : JSON.stringify(value) ?? 'null' };
}

/** An object shape seen before: its keys in insertion order, and in sorted order already encoded as `"key":`. */
interface Shape {
  keys: string[];
  sorted: string[];
  encoded: string[];
}

/**
 * Fetched records of a stream share a few shapes: sorting and encoding their keys once per shape
 * instead of once per object. Looked up by first key, then compared key by key (no allocation).
 */
const shapes = new Map<string, Shape[]>();
const SHAPES_MAX = 2_000;
const SHAPES_PER_FIRST_KEY = 8;

class CanonicalWriter {
  /** False once something was written that JSON.stringify would write otherwise (Date, toJSON, function...). */
  plain = true;

  write(value: unknown): string {
    if (value === null) return 'null';
    switch (typeof value) {
      case 'string':
      case 'number':
      case 'boolean':
        return JSON.stringify(value);
      case 'object':
        break;
      case 'undefined':
        return 'null';
      default:
        this.plain = false;
        return JSON.stringify(value) ?? 'null';
    }
    if (Array.isArray(value)) {
      let out = '[';
      for (let i = 0; i < value.length; i++) out += (i ? ',' : '') + this.write(value[i]);
      return `${out}]`;
    }
    const obj = value as Record<string, unknown>;
    const proto = Object.getPrototypeOf(obj);
    if (proto !== Object.prototype && proto !== null) {
      this.plain = false;
      return this.writeKeys(obj, sortedKeys(obj));
    }
    if (typeof obj.toJSON === 'function') this.plain = false;
    const shape = shapeOf(obj);
    let out = '{';
    let first = true;
    for (let i = 0; i < shape.sorted.length; i++) {
      const v = obj[shape.sorted[i]];
      if (v === undefined) continue;
      out += (first ? '' : ',') + shape.encoded[i] + this.write(v);
      first = false;
    }
    return `${out}}`;
  }

  private writeKeys(obj: Record<string, unknown>, keys: string[]): string {
    let out = '{';
    let first = true;
    for (const k of keys) {
      const v = obj[k];
      if (v === undefined) continue;
      out += `${first ? '' : ','}${JSON.stringify(k)}:${this.write(v)}`;
      first = false;
    }
    return `${out}}`;
  }
}

function sortedKeys(obj: object): string[] {
  const keys = Object.keys(obj);
  if (keys.length > 1) keys.sort();
  return keys;
}

/** The shape of a plain object (own enumerable keys, as for...in lists them on such an object). */
function shapeOf(obj: Record<string, unknown>): Shape {
  let firstKey: string | undefined;
  for (const k in obj) {
    firstKey = k;
    break;
  }
  if (firstKey === undefined) return EMPTY;
  const candidates = shapes.get(firstKey);
  if (candidates) {
    for (const shape of candidates) if (sameKeys(obj, shape.keys)) return shape;
  }
  const keys = Object.keys(obj);
  const sorted = keys.length > 1 ? [...keys].sort() : keys;
  const shape: Shape = { keys, sorted, encoded: sorted.map((k) => `${JSON.stringify(k)}:`) };
  if (!candidates) {
    if (shapes.size >= SHAPES_MAX) shapes.clear();
    shapes.set(firstKey, [shape]);
  } else if (candidates.length < SHAPES_PER_FIRST_KEY) candidates.push(shape);
  else candidates[candidates.length - 1] = shape;
  return shape;
}

const EMPTY: Shape = { keys: [], sorted: [], encoded: [] };

function sameKeys(obj: Record<string, unknown>, keys: string[]): boolean {
  let i = 0;
  for (const k in obj) {
    if (i >= keys.length || keys[i] !== k) return false;
    i++;
  }
  return i === keys.length;
}
