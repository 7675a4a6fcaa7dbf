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

  it('keeps an extension in the key, so two extensions are two customers', () => {
    expect(normalizePhone('010-62345678 ext 8001')).toBe('+861062345678;ext=8001');
    expect(normalizePhone('010-62345678 ext 8002')).toBe('+861062345678;ext=8002');
    expect(normalizePhone('010-62345678 x8001')).toBe('+861062345678;ext=8001');
    expect(normalizePhone('010-62345678')).toBe('+861062345678'); // the switchboard: a third key
    expect(normalizePhone('+861062345678;ext=8001')).toBe('+861062345678;ext=8001'); // a key reads back as itself
    expect(normalizePhone('(415) 555-2671 ext 12', 'US')).toBe('+14155552671;ext=12');
  });

  it.each([
    '010-62345678-8001',
    '010-62345678转8001',
    '010-62345678 转 8001',
    '010-62345678分机8001',
    '010-62345678 分机号：8001',
    '(010) 6234 5678 - 8001',
    '０１０－６２３４５６７８－８００１',
    '+86 10 6234 5678 转8001',
  ])('reads the Chinese extension form %s', (input) => {
    expect(normalizePhone(input)).toBe('+861062345678;ext=8001');
  });

  it('reads digits after a hyphen as an extension only after a complete landline', () => {
    expect(normalizePhone('13800138000-12')).toBeNull(); // a mobile has no extension
    expect(normalizePhone('010-6234567-8001')).toBeNull(); // 7 digits is no Beijing number
    expect(normalizePhone('010-62345678-1234567')).toBeNull(); // at most 6 digits
    expect(normalizePhone('0755-2345678-1')).toBe('+8675523456781'); // the whole is a valid number: it wins
    expect(normalizePhone('+86 109-5668-3336')).toBeNull(); // mobile-shaped: not Beijing 95668 ext 3336
    expect(normalizePhone('010-95668-3336')).toBeNull(); // a short service number is no complete landline
  });

  it('leaves mobiles as they were; an extension written on one is kept', () => {
    expect(normalizePhone('138 0013 8000')).toBe('+8613800138000');
    expect(normalizePhone('+86-138-0013-8000')).toBe('+8613800138000');
    expect(normalizePhone('13800138000 ext 12')).toBe('+8613800138000;ext=12');
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
  it.each(['SN2026000123', 'KFR13900139000', 'kfr-139 0013 9000', 'ＳＮ２０２６０００１２３', 'A13800138000', '13800138000B', 'SNx13800138000', 'box 13800138000', 'next 8001'])(
    'does not read %s as a phone (libphonenumber picks the digits out of it)', (raw) => {
      expect(classifyIdentifier(raw).phone).toBeNull();
      expect(classifyIdentifier(raw).serial).toBe(normalizeSerial(raw));
    });
  it.each([
    ['138 0013 8000', '+8613800138000'],
    ['+86 (138) 0013-8000', '+8613800138000'],
    ['１３８．００１３．８０００', '+8613800138000'],
    ['＋８６ １３８ ００１３ ８０００', '+8613800138000'],
    ['010-62345678 ext 8001', '+861062345678;ext=8001'],
    ['010-62345678 x8001', '+861062345678;ext=8001'],
    ['010-62345678x8001', '+861062345678;ext=8001'],
    ['010-62345678 EXT. 8001', '+861062345678;ext=8001'],
    ['010-62345678#8001', '+861062345678;ext=8001'],
    ['010-62345678转8001', '+861062345678;ext=8001'],
    ['010-62345678 分机：8001', '+861062345678;ext=8001'],
    ['+861062345678;ext=8001', '+861062345678;ext=8001'],
  ])('still reads %s as a phone', (raw, phone) => {
    expect(classifyIdentifier(raw).phone).toBe(phone);
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
