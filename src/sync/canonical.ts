import { normalizePhone, normalizeSerial } from '../identity/normalize';
import { parseDate, parseDateTime } from '../mapping/functions';
import { INDEX_KEY_MAX_BYTES, tooLongToIndex } from '../db/storable-text';

/** A reference to a customer: by phone, and/or by another record of the same connector. */
export interface CustomerRef {
  phone?: string | null;
  ref?: { stream: string; externalId: string } | null;
}

export type EntityName = 'customer' | 'device' | 'purchase' | 'spare_part' | 'stock' | 'telemetry' | 'complaint';

/** One canonical record as a mapping produced it, validated and normalized. */
export interface CanonicalRecord {
  entity: EntityName;
  fields: Record<string, any>;
}

/** Why one source record could not be used; kept on the source_record row and counted. */
export class RecordError extends Error {
  constructor(readonly code: string, message: string, readonly field?: string) {
    super(message);
  }
  toJSON() {
    return { code: this.code, message: this.message, field: this.field };
  }
}

/** Digits after the point an amount may have (purchase.amount is numeric(14,2)). */
const MONEY_SCALE = 2;

type FieldType = 'text' | 'phone' | 'serial' | 'date' | 'timestamp' | 'int' | 'bigint' | 'decimal' | 'bool' | 'textlist' | 'ref' | 'compat' | 'status';

/** The canonical model's fields per entity (mappings/README.md), with the ones a record must have. */
const SPECS: Record<EntityName, { fields: Record<string, FieldType>; required: string[] }> = {
  customer: { fields: { phone: 'phone', name: 'text', tier: 'text', region: 'text' }, required: [] },
  device: { fields: { serial: 'serial', model: 'text', firmware: 'text', purchaseDate: 'date', warrantyEnd: 'date', owner: 'ref' }, required: ['serial'] },
  purchase: {
    fields: { orderNumber: 'text', lineNo: 'int', customer: 'ref', serial: 'serial', model: 'text', quantity: 'int', amount: 'decimal', currency: 'text', orderedAt: 'date' },
    required: ['orderNumber'],
  },
  spare_part: { fields: { code: 'text', name: 'text', compatibility: 'compat' }, required: ['code', 'name'] },
  stock: { fields: { partCode: 'text', warehouse: 'text', quantity: 'int' }, required: ['partCode', 'warehouse', 'quantity'] },
  telemetry: { fields: { serial: 'serial', online: 'bool', lastSeenAt: 'timestamp', runCount: 'bigint', alerts: 'textlist', firmware: 'text' }, required: ['serial'] },
  complaint: {
    fields: { caseNumber: 'text', customer: 'ref', serial: 'serial', subject: 'text', ticketNumber: 'text', status: 'status', openedAt: 'timestamp', closedAt: 'timestamp' },
    required: ['caseNumber', 'status'],
  },
};

/**
 * Text fields that are keys or indexed where they are stored (serials and the other natural keys,
 * model, region, warehouse): one too long to index (`tooLongToIndex`, src/db/storable-text.ts)
 * failed the page's statement, so the page and every later run of the stream. It is the record's
 * error instead.
 */
const KEY_FIELDS: Partial<Record<EntityName, string[]>> = {
  customer: ['region'], device: ['model'], purchase: ['orderNumber', 'model'], spare_part: ['code'],
  stock: ['partCode', 'warehouse'], complaint: ['caseNumber', 'ticketNumber'],
};

function checkKeyLength(entity: EntityName, field: string, value: unknown): void {
  const bytes = typeof value === 'string' ? tooLongToIndex(value) : null;
  if (bytes !== null) {
    throw new RecordError('INVALID_FIELD',
      `${entity}.${field}: too long to index (${bytes} bytes in UTF-8, at most ${INDEX_KEY_MAX_BYTES}; starts ${JSON.stringify(`${(value as string).slice(0, 40)}…`)})`, field);
  }
}

/**
 * normalizePhone is pure and costly (libphonenumber, full metadata), and the same phones come back
 * in record after record (a customer, then as owner of its devices, then on its orders): results
 * are remembered, up to a bound.
 */
const phoneMemo = new Map<string, string | null>();
const PHONE_MEMO_MAX = 50_000;

function phoneOf(value: unknown): string | null {
  if (typeof value !== 'string' && typeof value !== 'number') return normalizePhone(value as string);
  const key = String(value);
  let p = phoneMemo.get(key);
  if (p === undefined) {
    p = normalizePhone(key);
    if (phoneMemo.size >= PHONE_MEMO_MAX) phoneMemo.clear();
    phoneMemo.set(key, p);
  }
  return p;
}

function coerce(entity: string, field: string, type: FieldType, value: unknown): unknown {
  if (value === null || value === undefined || value === '') return null;
  const bad = (what: string) => new RecordError('INVALID_FIELD', `${entity}.${field}: ${what} (got ${JSON.stringify(value)})`, field);
  switch (type) {
    case 'text':
      if (typeof value === 'object') throw bad('expected text');
      return String(value).trim() || null;
    case 'phone': {
      const p = phoneOf(value);
      if (!p) throw bad('not a valid phone number');
      return p;
    }
    case 'serial':
      return normalizeSerial(String(value));
    case 'date': {
      const d = parseDate(value);
      if (!d) throw bad('not a date');
      return d;
    }
    case 'timestamp': {
      const t = parseDateTime(value);
      if (!t) throw bad('not a timestamp');
      return t;
    }
    case 'int': {
      const n = Number(value);
      if (!Number.isInteger(n) || Math.abs(n) > 2_147_483_647) throw bad('expected a whole number');
      return n;
    }
    case 'bigint': {
      const text = String(value).trim();
      if (!/^-?\d{1,18}$/.test(text)) throw bad('expected a whole number');
      return text;
    }
    case 'decimal': {
      // Money: numeric(14,2) where it is stored. More decimals are refused, not rounded (the store
      // would turn 12.345 into 12.35 without a word); zeros past the cents (Kingdee's "12.5000") are no more decimals.
      const text = String(value).trim();
      const m = /^-?\d{1,12}(?:\.(\d+))?$/.exec(text);
      if (!m) throw bad('expected a decimal amount');
      const decimals = m[1] ?? '';
      if (decimals.length <= MONEY_SCALE) return text;
      if (/[1-9]/.test(decimals.slice(MONEY_SCALE))) throw bad(`more than ${MONEY_SCALE} decimals (an amount is kept to the cent)`);
      return text.slice(0, text.length - decimals.length + MONEY_SCALE);
    }
    case 'bool':
      if (typeof value === 'boolean') return value;
      if (value === 'true' || value === 1 || value === '1') return true;
      if (value === 'false' || value === 0 || value === '0') return false;
      throw bad('expected true or false');
    case 'textlist':
      if (!Array.isArray(value)) throw bad('expected a list');
      return value.map((v) => String(v));
    case 'status': {
      const s = String(value).toUpperCase();
      if (s !== 'OPEN' && s !== 'CLOSED') throw bad('expected OPEN or CLOSED');
      return s;
    }
    case 'ref': {
      if (typeof value !== 'object') throw bad('expected { phone } or { ref: { stream, externalId } }');
      const r = value as CustomerRef;
      const phone = r.phone == null || r.phone === '' ? null : phoneOf(r.phone);
      // A phone that is given but unreadable is the record's error: dropped, the record would be
      // merged without its owner/customer (or with only the ref).
      if (r.phone != null && r.phone !== '' && !phone) {
        throw new RecordError('INVALID_FIELD', `${entity}.${field}.phone: not a valid phone number (got ${JSON.stringify(r.phone)})`, `${field}.phone`);
      }
      const ref = r.ref && r.ref.stream && r.ref.externalId ? { stream: String(r.ref.stream), externalId: String(r.ref.externalId) } : null;
      if (!phone && !ref) return null;
      return { phone, ref };
    }
    case 'compat':
      if (!Array.isArray(value)) throw bad('expected a list of { model, firmwarePrefix }');
      return value
        .filter((c) => c && c.model)
        .map((c) => ({ model: String(c.model).trim(), firmwarePrefix: c.firmwarePrefix ? String(c.firmwarePrefix) : '' }));
  }
}

/** Turns a mapping's output into validated canonical records, or explains what is wrong with it. */
export function toCanonical(output: unknown): CanonicalRecord[] {
  if (output === undefined || output === null) return [];
  const list = Array.isArray(output) ? output : [output];
  return list.map((item, i) => {
    if (!item || typeof item !== 'object') throw new RecordError('INVALID_OUTPUT', `output[${i}] is not an object`);
    const entity = (item as any).entity as EntityName;
    const spec = SPECS[entity];
    if (!spec) throw new RecordError('INVALID_OUTPUT', `output[${i}].entity "${String(entity)}" is not one of ${Object.keys(SPECS).join(', ')}`, 'entity');
    const fields: Record<string, any> = {};
    const keyFields = KEY_FIELDS[entity];
    for (const [field, type] of Object.entries(spec.fields)) {
      if (!(field in (item as object))) continue;
      const value = coerce(entity, field, type, (item as any)[field]);
      if (type === 'serial' || keyFields?.includes(field)) checkKeyLength(entity, field, value);
      else if (type === 'compat' && Array.isArray(value)) for (const c of value as Array<{ model: string; firmwarePrefix: string }>) {
        checkKeyLength(entity, `${field}.model`, c.model);
        checkKeyLength(entity, `${field}.firmwarePrefix`, c.firmwarePrefix);
      }
      fields[field] = value;
    }
    for (const field of spec.required) {
      if (fields[field] === null || fields[field] === undefined) throw new RecordError('MISSING_FIELD', `${entity}.${field} is required`, field);
    }
    return { entity, fields };
  });
}
