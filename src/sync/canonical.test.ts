import { INDEX_KEY_MAX_BYTES as MAX } from '../db/storable-text';
import { RecordError, toCanonical } from './canonical';

describe('canonical records from mapping output', () => {
  it('normalizes identity fields and coerces types', () => {
    const [c] = toCanonical({ entity: 'customer', phone: '138 0013 8000', name: ' 张伟 ', tier: 'VIP' });
    expect(c).toEqual({ entity: 'customer', fields: { phone: '+8613800138000', name: '张伟', tier: 'VIP' } });
    const [d] = toCanonical({ entity: 'device', serial: ' ga72 h23 ', warrantyEnd: '2027/3/1', owner: { phone: '13800138000' } });
    expect(d.fields).toEqual({ serial: 'GA72H23', warrantyEnd: '2027-03-01', owner: { phone: '+8613800138000', ref: null } });
  });

  it('accepts several records from one source record, and nothing', () => {
    expect(toCanonical([{ entity: 'device', serial: 'A1' }, { entity: 'telemetry', serial: 'A1', online: 'true', runCount: 12 }])).toHaveLength(2);
    expect(toCanonical(undefined)).toEqual([]);
  });

  it.each([
    [{ entity: 'device' }, 'MISSING_FIELD', 'serial'],
    [{ entity: 'customer', phone: '12345' }, 'INVALID_FIELD', 'phone'],
    [{ entity: 'purchase', orderNumber: 'X1', quantity: 'two' }, 'INVALID_FIELD', 'quantity'],
    [{ entity: 'purchase', orderNumber: 'X1', amount: '12,50' }, 'INVALID_FIELD', 'amount'],
    [{ entity: 'device', serial: 'A', purchaseDate: '2026-02-30' }, 'INVALID_FIELD', 'purchaseDate'],
    [{ entity: 'complaint', caseNumber: '1', status: 'MAYBE' }, 'INVALID_FIELD', 'status'],
    [{ entity: 'telemetry', serial: 'A', alerts: 'E1' }, 'INVALID_FIELD', 'alerts'],
    [{ entity: 'robot', serial: 'A' }, 'INVALID_OUTPUT', 'entity'],
    [{ entity: 'customer', name: { first: 'x' } }, 'INVALID_FIELD', 'name'],
    // Keys and indexed text longer than a btree entry can hold (it failed the whole page before).
    [{ entity: 'device', serial: 'A'.repeat(MAX + 1) }, 'INVALID_FIELD', 'serial'],
    // 667 characters, 3 bytes each in UTF-8: 2,001 bytes.
    [{ entity: 'device', serial: 'A1', model: '型'.repeat(Math.ceil((MAX + 1) / 3)) }, 'INVALID_FIELD', 'model'],
    [{ entity: 'telemetry', serial: 'S'.repeat(MAX + 1) }, 'INVALID_FIELD', 'serial'],
    [{ entity: 'purchase', orderNumber: 'X'.repeat(MAX + 1) }, 'INVALID_FIELD', 'orderNumber'],
    [{ entity: 'spare_part', code: 'P1', name: 'p', compatibility: [{ model: 'M'.repeat(MAX + 1) }] }, 'INVALID_FIELD', 'compatibility.model'],
    [{ entity: 'stock', partCode: 'P1', warehouse: 'W'.repeat(MAX + 1), quantity: 1 }, 'INVALID_FIELD', 'warehouse'],
    [{ entity: 'complaint', caseNumber: 'C'.repeat(MAX + 1), status: 'OPEN' }, 'INVALID_FIELD', 'caseNumber'],
    [{ entity: 'customer', phone: '13800138000', region: 'R'.repeat(MAX + 1) }, 'INVALID_FIELD', 'region'],
  ])('refuses %j with %s on %s', (output, code, field) => {
    try {
      toCanonical(output);
      throw new Error('accepted');
    } catch (e) {
      expect(e).toBeInstanceOf(RecordError);
      expect(e).toMatchObject({ code, field });
    }
  });

  it('takes keys up to the limit, and long text where nothing indexes it', () => {
    expect(toCanonical({ entity: 'device', serial: 'A'.repeat(MAX) })[0].fields.serial).toHaveLength(MAX);
    expect(toCanonical({ entity: 'device', serial: 'A1', model: '型'.repeat(MAX / 4) })[0].fields.model).toHaveLength(MAX / 4);
    expect(toCanonical({ entity: 'customer', phone: '13800138000', name: '名'.repeat(5000) })[0].fields.name).toHaveLength(5000);
    expect(() => toCanonical({ entity: 'device', serial: 'S'.repeat(3000) }))
      .toThrow(/^device\.serial: too long to index \(3000 bytes in UTF-8, at most 2000; starts "S{40}…"\)$/);
  });

  it('refuses a customer reference whose phone is given but not valid, naming the field', () => {
    // It became null and the record was merged without its owner/customer.
    for (const [output, field] of [
      [{ entity: 'device', serial: 'A1', owner: { phone: '12345' } }, 'owner.phone'],
      [{ entity: 'device', serial: 'A1', owner: { phone: '12345', ref: { stream: 'accounts', externalId: 'C1' } } }, 'owner.phone'],
      [{ entity: 'purchase', orderNumber: 'X1', customer: { phone: 'n/a' } }, 'customer.phone'],
      [{ entity: 'complaint', caseNumber: '1', status: 'OPEN', customer: { phone: 1380013800 } }, 'customer.phone'],
    ] as const) {
      expect(() => toCanonical(output)).toThrow(expect.objectContaining({ code: 'INVALID_FIELD', field }));
    }
    expect(() => toCanonical({ entity: 'device', serial: 'A1', owner: { phone: '12345' } })).toThrow('device.owner.phone: not a valid phone number (got "12345")');
    // No phone (absent, null, empty) is still no phone.
    expect(toCanonical({ entity: 'device', serial: 'A1', owner: { phone: '', ref: { stream: 'accounts', externalId: 'C1' } } })[0].fields.owner)
      .toEqual({ phone: null, ref: { stream: 'accounts', externalId: 'C1' } });
    expect(toCanonical({ entity: 'device', serial: 'A1', owner: { phone: null } })[0].fields.owner).toBeNull();
  });

  it('keeps two extensions of one switchboard as two customers', () => {
    const [a, b] = toCanonical([{ entity: 'customer', phone: '010-62345678 ext 8001' }, { entity: 'customer', phone: '010-62345678转8002' }]);
    expect([a.fields.phone, b.fields.phone]).toEqual(['+861062345678;ext=8001', '+861062345678;ext=8002']);
  });

  it('takes amounts to the cent and refuses more decimals (purchase.amount is numeric(14,2))', () => {
    const amount = (v: unknown) => toCanonical({ entity: 'purchase', orderNumber: 'X1', amount: v })[0].fields.amount;
    expect(amount('1160.5')).toBe('1160.5');
    expect(amount(1160.55)).toBe('1160.55');
    expect(amount('3299')).toBe('3299');
    expect(amount('-12.30')).toBe('-12.30');
    expect(amount('12.5000')).toBe('12.50'); // zeros past the cents are no more decimals
    for (const v of ['12.345', 12.345, '0.001', '12.5001', 0.1 + 0.2]) {
      expect(() => toCanonical({ entity: 'purchase', orderNumber: 'X1', amount: v }))
        .toThrow(expect.objectContaining({ code: 'INVALID_FIELD', field: 'amount', message: expect.stringMatching(/^purchase\.amount: more than 2 decimals/) }));
    }
    for (const v of ['12.', '.5', '1e3', '12,50']) {
      expect(() => toCanonical({ entity: 'purchase', orderNumber: 'X1', amount: v })).toThrow(expect.objectContaining({ code: 'INVALID_FIELD', field: 'amount' }));
    }
  });

  it('refuses output that is not an object', () => {
    expect(() => toCanonical(['x'])).toThrow(/output\[0\] is not an object/);
  });
});

describe('phones seen again', () => {
  it('give the same answer every time, valid or not, whatever the record', () => {
    for (let i = 0; i < 2; i++) {
      expect(toCanonical({ entity: 'customer', phone: '138 0013 8000' })[0].fields.phone).toBe('+8613800138000');
      expect(toCanonical({ entity: 'device', serial: 'A1', owner: { phone: '138 0013 8000' } })[0].fields.owner).toEqual({ phone: '+8613800138000', ref: null });
      expect(() => toCanonical({ entity: 'customer', phone: '12345' })).toThrow(expect.objectContaining({ code: 'INVALID_FIELD', field: 'phone' }));
      expect(toCanonical({ entity: 'customer', phone: 13800138000 })[0].fields.phone).toBe('+8613800138000');
    }
  });
});
