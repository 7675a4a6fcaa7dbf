import { classifyIdentifier, normalizePhone, normalizeSerial, normalizeTicketNumber, toHalfWidth } from './normalize';

describe('normalizePhone', () => {
  it.each([
    '13800138000',
    '138 0013 8000',
    '+86-138-0013-8000',
    '(0086)13800138000',
    '0086 138 0013 8000',
    '１３８００１３８０００',
    '＋８６ １３８ ００１３ ８０００',
    '+86 (138) 0013-8000',
  ])('reads %s as +8613800138000', (input) => {
    expect(normalizePhone(input)).toBe('+8613800138000');
  });

  it('accepts numbers stored as numbers (Excel)', () => {
    expect(normalizePhone(13800138000)).toBe('+8613800138000');
  });

  it('keeps landlines with their area code', () => {
    expect(normalizePhone('010-12345678')).toBe('+861012345678');
  });

  it.each(['abc', '12345', '1380013800', '', '   ', '+86 138'])('rejects %p', (input) => {
    expect(normalizePhone(input)).toBeNull();
  });

  it('honours another default region', () => {
    expect(normalizePhone('(415) 555-2671', 'US')).toBe('+14155552671');
  });
});

describe('normalizeSerial', () => {
  it('trims, upper-cases, converts full-width and removes inner spaces', () => {
    expect(normalizeSerial('  kfr-72lw / n8hr3 ')).toBe('KFR-72LW/N8HR3');
    expect(normalizeSerial('ＳＮ１２３　４５６')).toBe('SN123456');
  });
  it('returns null for blank', () => {
    expect(normalizeSerial('   ')).toBeNull();
    expect(normalizeSerial(null)).toBeNull();
  });
});

describe('normalizeTicketNumber', () => {
  it('accepts the canonical form in any case and width', () => {
    expect(normalizeTicketNumber('t20260218-8892')).toBe('T20260218-8892');
    expect(normalizeTicketNumber('Ｔ２０２６０２１８－８８９２')).toBe('T20260218-8892');
  });
  it('rejects other shapes', () => {
    expect(normalizeTicketNumber('T2026021-8892')).toBeNull();
    expect(normalizeTicketNumber('20260218-8892')).toBeNull();
  });
});

describe('classifyIdentifier', () => {
  it('keeps both readings of a digit string', () => {
    const c = classifyIdentifier('13800138000');
    expect(c.phone).toBe('+8613800138000');
    expect(c.serial).toBe('13800138000');
    expect(c.ticketNumber).toBeNull();
  });
  it('toHalfWidth leaves CJK text alone', () => {
    expect(toHalfWidth('张三１')).toBe('张三1');
  });
});

describe('normalizePhone memo', () => {
  it('gives the same answer the second time, per region', () => {
    for (let i = 0; i < 2; i++) {
      expect(normalizePhone('(415) 555-2671', 'US')).toBe('+14155552671');
      expect(normalizePhone('(415) 555-2671')).toBe('+864155552671'); // a CN landline (area code 415)
      expect(normalizePhone('138 0013 8000')).toBe('+8613800138000');
      expect(normalizePhone('12345')).toBeNull();
    }
  });

  it('stays right past its size (it is emptied, not grown)', () => {
    for (let n = 0; n < 12_000; n++) normalizePhone(`1380013${String(n).padStart(4, '0')}`);
    expect(normalizePhone('13800138000')).toBe('+8613800138000');
    expect(normalizePhone('1380013800')).toBeNull();
  });
});
