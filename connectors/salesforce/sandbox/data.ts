/**
 * The Salesforce org of the demo company, derived from generateDemoDataset(): the CRM side of the
 * same customers, with the disagreements a real CRM has. Pure and deterministic (seeded PRNG, no
 * clock), so the sandbox serves byte-identical data on every run.
 *
 * - Account per demo customer: Id = crmId, Name as the CRM spells it (刘洋, where the ERP has 刘阳),
 *   Phone exactly as typed (spaces, dashes, (0086), full-width digits...), tier as a picklist
 *   label, BillingState a province of the customer's region, SystemModstamp = the customer's CRM
 *   change time (the demo's crm/accounts source-link version).
 * - Contact per account (the same person, the mobile written another way), created by one data
 *   import (many contacts share one SystemModstamp), a few edited since.
 * - Case per ticket the 400 hotline logged, plus the open Case of the ticket the demo shows as
 *   STATUS_MISMATCH (resolved in Junction, still "Working" here), plus two CRM-only complaints.
 */
import { DEMO_NOW, DemoCustomer, DemoDataset, DemoRng, DemoTicket, generateDemoDataset } from '../../../src/demo/dataset';

export type SObjectName = 'Account' | 'Contact' | 'Case' | 'Task';
export const SOBJECT_NAMES: readonly SObjectName[] = ['Account', 'Contact', 'Case', 'Task'];

export type SfValue = string | number | boolean | null;
/** One record: canonical field API names → values (dateTimes as Salesforce writes them). */
export type SfRow = Record<string, SfValue> & { Id: string };

export interface SalesforceSandboxData {
  Account: SfRow[];
  Contact: SfRow[];
  Case: SfRow[];
  /** Activities (write-back notes); none in the demo data. */
  Task?: SfRow[];
}

export interface SObjectSchema {
  keyPrefix: string;
  fields: readonly string[];
  /** Refused in create/update bodies (INVALID_FIELD_FOR_INSERT_UPDATE). */
  readOnly: readonly string[];
  /** Needed on create (REQUIRED_FIELD_MISSING). */
  required: readonly string[];
}

const SYSTEM_FIELDS = ['Id', 'CreatedDate', 'LastModifiedDate', 'SystemModstamp', 'IsDeleted'];

export const SANDBOX_SCHEMA: Record<SObjectName, SObjectSchema> = {
  Account: {
    keyPrefix: '001',
    fields: [...SYSTEM_FIELDS, 'Name', 'Phone', 'CustomerTier__c', 'BillingState', 'BillingCity', 'Type'],
    readOnly: SYSTEM_FIELDS,
    required: ['Name'],
  },
  Contact: {
    keyPrefix: '003',
    fields: [...SYSTEM_FIELDS, 'AccountId', 'Name', 'FirstName', 'LastName', 'Phone', 'MobilePhone', 'Email'],
    readOnly: [...SYSTEM_FIELDS, 'Name'],
    required: ['LastName'],
  },
  Case: {
    keyPrefix: '500',
    fields: [...SYSTEM_FIELDS, 'CaseNumber', 'AccountId', 'ContactId', 'Subject', 'Description', 'Status', 'IsClosed', 'Origin', 'Priority', 'ClosedDate', 'Serial_Number__c', 'Junction_Key__c'],
    readOnly: [...SYSTEM_FIELDS, 'CaseNumber', 'IsClosed', 'ClosedDate'],
    required: [],
  },
  // Junction_Key__c: a text External ID field (not unique) the org adds for Junction's write-back.
  Task: {
    keyPrefix: '00T',
    fields: [...SYSTEM_FIELDS, 'WhatId', 'WhoId', 'Subject', 'Description', 'Status', 'Priority', 'ActivityDate', 'TaskSubtype', 'Junction_Key__c'],
    readOnly: SYSTEM_FIELDS,
    required: [],
  },
};

/** Case Status picklist values that close a case (IsClosed = true). */
export const CLOSED_CASE_STATUSES = ['Closed'];

/** The deliberate disagreements and stories, by record id, for tests and the demo script. */
export interface SandboxStories {
  /** 刘洋 in the CRM, 刘阳 in the ERP (the demo's NAME_MISMATCH issue). */
  nameMismatchAccountId: string;
  /** Open ("Working") Case of a ticket that is RESOLVED in Junction (the demo's STATUS_MISMATCH issue). */
  openCaseOfResolvedTicket: { caseId: string; ticketNumber: string };
  /** Account phones typed with spaces and with full-width digits. */
  spacedPhoneAccountId: string;
  fullWidthPhoneAccountId: string;
  /** Account name typed with a trailing space. */
  paddedNameAccountId: string;
  /** A GOLD customer whose tier is the legacy picklist label 金卡. */
  legacyTierAccountId: string;
  /** BillingState written without its 省 suffix (浙江). */
  shortProvinceAccountId: string;
  /** Contact with no phone at all (a customer without identity: the hub must flag, not drop it). */
  phonelessContactId: string;
  /** Contact with only Phone, in full-width digits with spaces (no MobilePhone). */
  phoneOnlyContactId: string;
  /** SystemModstamp shared by every contact of the 2025 data import (ties across pages). */
  contactImportModstamp: string;
}

export interface BuildSandboxDataOptions {
  /** Adds this many synthetic accounts (deterministic) for benchmarks. */
  scale?: number;
  dataset?: DemoDataset;
}

export interface BuiltSandboxData extends SalesforceSandboxData {
  stories: SandboxStories;
}

const SEED = 0x5f0c3e;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const CONTACT_IMPORT = '2025-01-06T02:00:00.000Z';
const NOW_MS = Date.parse(DEMO_NOW);
const MINUTE = 60_000;
const DAY = 86_400_000;
const MAX_SCALE = 1_000_000;

/** Salesforce's dateTime format: 2026-02-18T08:00:00.000+0000 (always UTC, to the second). */
export function sfDateTime(at: number | string): string {
  const ms = typeof at === 'number' ? at : Date.parse(at);
  if (!Number.isFinite(ms)) throw new Error(`not a time: ${String(at)}`);
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('Z', '+0000');
}

/** Provinces (BillingState) and their capitals per demo region. */
const PROVINCES: Record<string, [string, string][]> = {
  华东: [['上海市', '上海市'], ['江苏省', '南京市'], ['浙江省', '杭州市'], ['山东省', '济南市'], ['福建省', '福州市'], ['安徽省', '合肥市']],
  华北: [['北京市', '北京市'], ['天津市', '天津市'], ['河北省', '石家庄市'], ['山西省', '太原市']],
  华南: [['广东省', '广州市'], ['广东省', '深圳市'], ['广西壮族自治区', '南宁市'], ['海南省', '海口市']],
  华中: [['湖北省', '武汉市'], ['湖南省', '长沙市'], ['河南省', '郑州市']],
  西南: [['四川省', '成都市'], ['重庆市', '重庆市'], ['云南省', '昆明市'], ['贵州省', '贵阳市']],
  西北: [['陕西省', '西安市'], ['甘肃省', '兰州市']],
  东北: [['辽宁省', '沈阳市'], ['吉林省', '长春市'], ['黑龙江省', '哈尔滨市']],
};

const TIER_LABELS: Record<string, string> = { VIP: 'VIP', GOLD: 'Gold', SILVER: 'Silver', STANDARD: 'Standard' };

/** Ways a contact's mobile gets typed (the same number as the account's, written otherwise). */
const MOBILE_FORMATS: ((d: string) => string)[] = [
  (d) => `+86 ${d}`,
  (d) => `${d.slice(0, 3)}-${d.slice(3, 7)}-${d.slice(7)}`,
  (d) => d,
  (d) => `+86-${d.slice(0, 3)}-${d.slice(3, 7)}-${d.slice(7)}`,
  (d) => `${d.slice(0, 3)} ${d.slice(3, 7)} ${d.slice(7)}`,
  (d) => `0086${d}`,
];

function fullWidth(text: string): string {
  return text.replace(/[!-~]/g, (ch) => String.fromCharCode(ch.charCodeAt(0) + 0xfee0)).replace(/ /g, '\u3000');
}

function base62(n: number, width: number): string {
  let s = '';
  let v = n;
  do {
    s = BASE62[v % 62] + s;
    v = Math.floor(v / 62);
  } while (v > 0);
  return s.padStart(width, '0');
}

function sfId(rng: DemoRng, keyPrefix: string): string {
  return `${keyPrefix}5g00000${rng.chars(8, BASE62)}`;
}

const CASE_STATUS: Record<string, string> = {
  NEW: 'New',
  ASSIGNED: 'Working',
  IN_PROGRESS: 'Working',
  PENDING: 'Working',
  RESOLVED: 'Closed',
  CLOSED: 'Closed',
  CANCELLED: 'Closed',
};
const CASE_PRIORITY: Record<string, string> = { P0: 'High', P1: 'High', P2: 'Medium', P3: 'Low' };

export function buildSalesforceSandboxData(options: BuildSandboxDataOptions = {}): BuiltSandboxData {
  const scale = options.scale ?? 0;
  if (!Number.isInteger(scale) || scale < 0 || scale > MAX_SCALE) throw new Error(`scale must be an integer from 0 to ${MAX_SCALE}, got ${scale}`);
  const dataset = options.dataset ?? generateDemoDataset();
  const rng = new DemoRng(SEED);
  const customers = dataset.customers;

  // Deliberate disagreements, picked by what the data set has (stable for the default seed).
  const nameMismatch = customers.find((c) => c.erpName !== c.name);
  const spaced = customers.find((c) => / /.test(c.rawPhone));
  const fullWidthPhone = customers.find((c) => /[０-９]/.test(c.rawPhone));
  const legacyTier = customers.find((c, i) => i > 0 && c.tier === 'GOLD');
  if (!nameMismatch || !spaced || !fullWidthPhone || !legacyTier) throw new Error('demo data set lost a story the Salesforce sandbox tells');
  const padded = customers.find((c) => ![nameMismatch, spaced, fullWidthPhone, legacyTier, customers[0]].includes(c))!;
  const shortProvince = customers.find((c) => c.region === '华东' && ![customers[0], padded, nameMismatch, spaced, fullWidthPhone, legacyTier].includes(c))!;

  // Accounts --------------------------------------------------------------------------------
  const accounts: SfRow[] = customers.map((c, i) => {
    let [state, city] = i === 0 ? PROVINCES['华东'][0] : rng.pick(PROVINCES[c.region] ?? PROVINCES['华东']);
    if (c === shortProvince) [state, city] = ['浙江', '杭州市'];
    return {
      Id: c.crmId,
      Name: c === padded ? `${c.name} ` : c.name,
      Phone: c.rawPhone,
      CustomerTier__c: c === legacyTier ? '金卡' : TIER_LABELS[c.tier],
      BillingState: state,
      BillingCity: city,
      Type: 'Customer',
      IsDeleted: false,
      CreatedDate: sfDateTime(c.createdAt),
      LastModifiedDate: sfDateTime(c.updatedAt),
      SystemModstamp: sfDateTime(c.updatedAt),
    };
  });

  // Contacts --------------------------------------------------------------------------------
  const contacts: SfRow[] = [];
  const primaryContact = new Map<DemoCustomer, string>();
  const importMs = Date.parse(CONTACT_IMPORT);
  let phonelessContactId = '';
  let phoneOnlyContactId = '';
  customers.forEach((c, i) => {
    const digits = c.phone.slice(3); // +86 and 11 national digits
    const id = sfId(rng, '003');
    primaryContact.set(c, id);
    const edited = i % 4 === 1;
    const modMs = edited ? importMs + rng.int(30, 640) * DAY + rng.int(60, 600) * MINUTE : importMs;
    const phoneOnly = c === spaced;
    const contact: SfRow = {
      Id: id,
      AccountId: c.crmId,
      LastName: c.name.slice(0, 1),
      FirstName: c.name.slice(1) || null,
      Name: c.name,
      MobilePhone: phoneOnly ? null : MOBILE_FORMATS[(i + 2) % MOBILE_FORMATS.length](digits),
      Phone: phoneOnly ? fullWidth(`${digits.slice(0, 3)} ${digits.slice(3, 7)} ${digits.slice(7)}`) : i % 7 === 3 ? `021-6${rng.digits(7)}` : null,
      Email: null,
      IsDeleted: false,
      CreatedDate: sfDateTime(importMs),
      LastModifiedDate: sfDateTime(modMs),
      SystemModstamp: sfDateTime(modMs),
    };
    if (phoneOnly) phoneOnlyContactId = id;
    contacts.push(contact);
    if (i === 5) {
      // A second contact on the account, written down without any phone (front desk, family).
      phonelessContactId = sfId(rng, '003');
      contacts.push({
        Id: phonelessContactId,
        AccountId: c.crmId,
        LastName: c.name.slice(0, 1),
        FirstName: '太太',
        Name: `${c.name.slice(0, 1)}太太`,
        MobilePhone: null,
        Phone: null,
        Email: null,
        IsDeleted: false,
        CreatedDate: sfDateTime(importMs),
        LastModifiedDate: sfDateTime(importMs),
        SystemModstamp: sfDateTime(importMs),
      });
    }
  });

  // Cases -----------------------------------------------------------------------------------
  const byPhone = new Map(customers.map((c) => [c.phone, c]));
  const devices = new Map(dataset.devices.map((d) => [d.serial, d]));
  const mismatchLink = dataset.sourceLinks.find((l) => l.system === 'crm' && l.stream === 'cases');
  if (!mismatchLink) throw new Error('demo data set has no CRM case link');
  const caseTickets = dataset.tickets.filter((t) => t.createdBy.startsWith('desk.') || t.number === mismatchLink.key);

  interface CaseDraft {
    id: string;
    created: number;
    row: Omit<SfRow, 'Id' | 'CaseNumber'>;
  }
  const drafts: CaseDraft[] = caseTickets.map((t: DemoTicket) => {
    const c = byPhone.get(t.customerPhone)!;
    const isMismatch = t.number === mismatchLink.key;
    const created = Date.parse(t.createdAt);
    const status = isMismatch ? 'Working' : CASE_STATUS[t.status];
    const closedAt = status === 'Closed' ? Date.parse(t.closedAt ?? t.resolvedAt ?? t.updatedAt) : null;
    const modMs = isMismatch ? created : closedAt ?? Math.min(NOW_MS, created + rng.int(5, 45) * MINUTE);
    const device = t.deviceSerial ? devices.get(t.deviceSerial) : undefined;
    return {
      id: isMismatch ? mismatchLink.externalId : sfId(rng, '500'),
      created,
      row: {
        AccountId: c.crmId,
        ContactId: primaryContact.get(c) ?? null,
        Subject: `${t.category[2]}:${t.fault}`.slice(0, 255),
        Description: null,
        Status: status,
        IsClosed: status === 'Closed',
        Origin: 'Phone',
        Priority: CASE_PRIORITY[t.priority] ?? 'Medium',
        ClosedDate: closedAt === null ? null : sfDateTime(closedAt),
        Serial_Number__c: device ? device.rawSerial : null,
        IsDeleted: false,
        CreatedDate: sfDateTime(created),
        LastModifiedDate: sfDateTime(modMs),
        SystemModstamp: sfDateTime(modMs),
      },
    };
  });
  // Complaints the CRM has that never became tickets.
  const late = customers[7];
  const invoice = customers[12];
  const extra: [DemoCustomer, string, number, number | null, string | null][] = [
    [late, '投诉:安装师傅迟到两小时,未提前联系', Date.parse('2026-08-03T02:15:00.000Z'), Date.parse('2026-08-04T06:00:00.000Z'), primaryContact.get(late)!],
    [invoice, '咨询:发票抬头开错,申请重开', Date.parse('2026-11-17T03:40:00.000Z'), null, null],
  ];
  for (const [c, subject, created, closed, contactId] of extra) {
    drafts.push({
      id: sfId(rng, '500'),
      created,
      row: {
        AccountId: c.crmId,
        ContactId: contactId,
        Subject: subject,
        Description: null,
        Status: closed === null ? 'New' : 'Closed',
        IsClosed: closed !== null,
        Origin: 'Email',
        Priority: 'Medium',
        ClosedDate: closed === null ? null : sfDateTime(closed),
        Serial_Number__c: null,
        IsDeleted: false,
        CreatedDate: sfDateTime(created),
        LastModifiedDate: sfDateTime(closed ?? created),
        SystemModstamp: sfDateTime(closed ?? created),
      },
    });
  }
  drafts.sort((a, b) => a.created - b.created || (a.id < b.id ? -1 : 1));
  const cases: SfRow[] = drafts.map((d, i) => ({ Id: d.id, CaseNumber: String(1001 + i).padStart(8, '0'), ...d.row }));

  // Synthetic accounts for benchmarks ---------------------------------------------------------
  if (scale > 0) accounts.push(...syntheticAccounts(scale));

  return {
    Account: accounts,
    Contact: contacts,
    Case: cases,
    stories: {
      nameMismatchAccountId: nameMismatch.crmId,
      openCaseOfResolvedTicket: { caseId: mismatchLink.externalId, ticketNumber: mismatchLink.key },
      spacedPhoneAccountId: spaced.crmId,
      fullWidthPhoneAccountId: fullWidthPhone.crmId,
      paddedNameAccountId: padded.crmId,
      legacyTierAccountId: legacyTier.crmId,
      shortProvinceAccountId: shortProvince.crmId,
      phonelessContactId,
      phoneOnlyContactId,
      contactImportModstamp: sfDateTime(importMs),
    },
  };
}

const SURNAMES = ['王', '李', '张', '刘', '陈', '杨', '黄', '赵', '吴', '周', '徐', '孙', '马', '朱', '胡', '郭', '何', '高', '林', '罗'];
const GIVEN = ['伟', '芳', '娜', '敏', '静', '丽', '强', '磊', '军', '洋', '勇', '艳', '杰', '涛', '明', '超', '秀英', '霞', '平', '刚', '桂英', '建华', '志强', '晓东'];
const SYNTHETIC_TIERS: [string, number][] = [['VIP', 1], ['Gold', 2], ['Silver', 3], ['Standard', 4]];
const REGION_WEIGHTS: [string, number][] = [['华东', 9], ['华北', 5], ['华南', 6], ['华中', 3], ['西南', 3], ['西北', 1], ['东北', 2]];

/**
 * `n` more accounts: phones 190xxxxxxxx (no demo customer uses 190), modstamps in 2025 with
 * five accounts per second (bulk-load ties), ids in the 0015g000SC... range.
 */
function syntheticAccounts(n: number): SfRow[] {
  const rng = new DemoRng(SEED + 1);
  const start = Date.parse('2025-03-01T00:00:00.000Z');
  const out: SfRow[] = [];
  for (let i = 0; i < n; i++) {
    const digits = `190${String(i).padStart(8, '0')}`;
    const region = rng.weighted(REGION_WEIGHTS);
    const [state, city] = rng.pick(PROVINCES[region]);
    const mod = start + Math.floor(i / 5) * 1000;
    out.push({
      Id: `0015g000SC${base62(i, 8)}`,
      Name: rng.pick(SURNAMES) + rng.pick(GIVEN),
      Phone: MOBILE_FORMATS[i % MOBILE_FORMATS.length](digits),
      CustomerTier__c: rng.weighted(SYNTHETIC_TIERS),
      BillingState: state,
      BillingCity: city,
      Type: 'Customer',
      IsDeleted: false,
      CreatedDate: sfDateTime(start - rng.int(1, 900) * DAY),
      LastModifiedDate: sfDateTime(mod),
      SystemModstamp: sfDateTime(mod),
    });
  }
  return out;
}
