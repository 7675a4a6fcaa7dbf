import { createHash } from 'crypto';
import { rowHash } from './reader';
import { rowKey, rowKeyHalves } from './row-key';
import { importColumns, loadTemplate } from './template';

/** How the row hashes stored in excel_row were made: one update per part. */
function storedHash(template: string, fields: Record<string, unknown>, columns: Array<{ field: string }>): string {
  const h = createHash('sha256');
  h.update(template);
  for (const c of columns) {
    const v = fields[c.field];
    h.update('\u0001');
    if (v !== null && v !== undefined) h.update(typeof v === 'string' ? v : JSON.stringify(v));
  }
  return h.digest('hex').slice(0, 32);
}

describe('rowHash', () => {
  // A different hash for the same row would import every earlier file again.
  it.each([
    [{ serial: 'SN1', model: 'KFR-72LW/N8HR3', phone: '+8613800138000', customerName: '王小明', purchaseDate: '2025-06-18', warrantyMonths: 36 }],
    [{ serial: 'ＳＮ２', model: null, phone: null, customerName: '\ud83d\ude00 emoji and a lone \ud800 surrogate', warrantyMonths: 0 }],
    [{ serial: 'SN3', model: '', firmware: 'V2.1', customerName: 'a\u0001b' }],
  ])('is the hash earlier imports stored: %j', (values) => {
    const t = loadTemplate('devices');
    const columns = importColumns(t);
    const fields: Record<string, unknown> = {};
    for (const c of columns) fields[c.field] = (values as Record<string, unknown>)[c.field] ?? null;
    expect(rowHash(t.name, columns, fields)).toBe(storedHash(t.name, fields, columns));
  });
});

describe('rowKey', () => {
  it('is the first 64 bits of the row hash as a signed bigint', () => {
    expect(rowKey('0000000000000001ffffffffffffffff')).toBe('1');
    expect(rowKey('ffffffffffffffff0000000000000000')).toBe('-1');
    expect(rowKey('8000000000000000aaaaaaaaaaaaaaaa')).toBe('-9223372036854775808');
    expect(rowKey('7fffffffffffffff0000000000000000')).toBe('9223372036854775807');
    expect(rowKeyHalves('8000000000000001ffff')).toEqual([0x80000000, 1]);
  });
});
