/**
 * End to end: the connector, built from a config entry through the registry, against the
 * sandbox server on a random port (real HTTP, real paging through nextRecordsUrl). The kit's fake
 * clock keeps retries from sleeping.
 */
import {
  ConnectorEntry,
  ConnectorError,
  createConnector,
  createHttpClient,
  fakeClock,
  FakeClock,
  Secret,
  SourcePage,
  StreamDefinition,
} from '../../src/connectors';
import { generateDemoDataset } from '../../src/demo/dataset';
import { normalizePhone, normalizeSerial } from '../../src/identity/normalize';
import { SalesforceClient } from './client';
import './index';
import { buildSalesforceSandboxData } from './sandbox/data';
import { SalesforceSandbox, startSalesforceSandbox } from './sandbox/server';
import { parseSalesforceDateTime, soqlDateTime } from './streams';

let sb: SalesforceSandbox;
let clock: FakeClock;
/** The sandbox's clock (SystemModstamp of changes, Date header): after all demo data, moved by tick(). */
let sfNow: number;
const tick = (ms = 60_000) => {
  sfNow += ms;
};

function entry(over: Partial<ConnectorEntry> = {}): ConnectorEntry {
  return {
    name: 'crm-sandbox',
    type: 'salesforce',
    baseUrl: sb.url,
    sandbox: true,
    credentials: { clientId: { value: sb.control.credentials.clientId }, clientSecret: { value: sb.control.credentials.clientSecret } },
    retry: { baseDelayMs: 100 },
    streams: {},
    options: {},
    ...over,
  };
}

function connector(over: Partial<ConnectorEntry> = {}) {
  return createConnector(entry(over), { clock, env: {}, random: () => 0.5, logger: () => undefined });
}

function client() {
  return new SalesforceClient({
    connector: 'crm-sandbox',
    baseUrl: sb.url,
    apiVersion: '59.0',
    grantType: 'client_credentials',
    credentials: { clientId: new Secret(sb.control.credentials.clientId), clientSecret: new Secret(sb.control.credentials.clientSecret) },
    http: (o = {}) => createHttpClient({ ...o, connector: 'crm-sandbox', baseURL: o.baseURL ?? sb.url, clock, random: () => 0.5, logger: () => undefined }),
  });
}

async function readAll(stream: StreamDefinition, cursor: string | null = null, pageSize?: number): Promise<SourcePage[]> {
  const pages: SourcePage[] = [];
  for await (const p of stream.read(cursor, { pageSize })) pages.push(p);
  return pages;
}

/** The first `n` pages, then the read is abandoned (a crash after storing page n). */
async function readPages(stream: StreamDefinition, n: number): Promise<SourcePage[]> {
  const pages: SourcePage[] = [];
  for await (const p of stream.read(null)) {
    pages.push(p);
    if (pages.length === n) break;
  }
  return pages;
}

async function rejection(p: Promise<unknown>): Promise<ConnectorError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ConnectorError);
    return err as ConnectorError;
  }
  throw new Error('expected a ConnectorError');
}

const ids = (pages: SourcePage[]) => pages.flatMap((p) => p.records.map((r) => r.externalId));
const tokenCalls = () => sb.control.requests.filter((r) => r.path === '/services/oauth2/token').length;

beforeEach(async () => {
  clock = fakeClock();
  sfNow = Date.parse('2026-11-20T03:00:00.000Z');
  sb = await startSalesforceSandbox({ port: 0, now: () => sfNow });
});
afterEach(async () => {
  await sb.close();
});

describe('full and incremental reads', () => {
  it('reads every stream to the end through nextRecordsUrl; counts and order equal the sandbox data', async () => {
    sb.control.setMaxBatchSize(7);
    const c = connector();
    expect(Object.keys(c.streams).sort()).toEqual(['accounts', 'cases', 'contacts']);
    const counts = sb.control.counts();
    for (const [stream, sobject] of [['accounts', 'Account'], ['contacts', 'Contact'], ['cases', 'Case']] as const) {
      const pages = await readAll(c.streams[stream]);
      const expected = sb.control.records(sobject).map((r) => r.Id);
      expect(ids(pages)).toEqual(expected);
      expect(ids(pages)).toHaveLength(counts[sobject]);
      expect(pages.length).toBe(Math.ceil(counts[sobject] / 7));
      expect(pages.slice(0, -1).every((p) => p.hasMore)).toBe(true);
      expect(pages[pages.length - 1].hasMore).toBe(false);
    }
    expect(counts).toEqual({ Account: 40, Contact: 41, Case: 59, Task: 0 });
    expect(sb.control.requests.filter((r) => /\/query\/01g/.test(r.path)).length).toBeGreaterThan(10);
  });

  it('after a record changes, an incremental read returns just that record, then nothing', async () => {
    const c = connector();
    const full = await readAll(c.streams.accounts);
    const cursor = full[full.length - 1].cursor;
    const { nameMismatchAccountId } = sb.control.stories!;

    sb.control.update('Account', nameMismatchAccountId, { Phone: '+86 185 9445 7945', CustomerTier__c: 'Gold' });
    tick();
    const delta = await readAll(c.streams.accounts, cursor);
    expect(delta).toHaveLength(1);
    expect(ids(delta)).toEqual([nameMismatchAccountId]);
    expect(delta[0].records[0].payload).toMatchObject({ Id: nameMismatchAccountId, Name: '刘洋', Phone: '+86 185 9445 7945', CustomerTier__c: 'Gold' });
    expect(delta[0].cursor).not.toBe(cursor);

    const again = await readAll(c.streams.accounts, delta[0].cursor);
    expect(again).toEqual([{ records: [], cursor: delta[0].cursor, hasMore: false }]);
  });

  it('closing the open case of a resolved ticket shows up as that one case, closed', async () => {
    const c = connector();
    const full = await readAll(c.streams.cases);
    const { caseId } = sb.control.stories!.openCaseOfResolvedTicket;
    expect(full.flatMap((p) => p.records).find((r) => r.externalId === caseId)?.payload).toMatchObject({ Status: 'Working', IsClosed: false, ClosedDate: null });
    sb.control.update('Case', caseId, { Status: 'Closed' });
    tick();
    const delta = await readAll(c.streams.cases, full[full.length - 1].cursor);
    expect(ids(delta)).toEqual([caseId]);
    expect(delta[0].records[0].payload).toMatchObject({ Status: 'Closed', IsClosed: true });
    expect(typeof (delta[0].records[0].payload as { ClosedDate: unknown }).ClosedDate).toBe('string');
  });

  it('does not miss a record saved again within the second it was read in (Salesforce keeps seconds)', async () => {
    const c = connector();
    const full = await readAll(c.streams.accounts);
    const id = sb.control.stories!.spacedPhoneAccountId;
    sb.control.update('Account', id, { CustomerTier__c: 'Gold' });
    const first = await readAll(c.streams.accounts, full[full.length - 1].cursor); // same server second
    expect(ids(first)).toEqual([id]);
    sb.control.update('Account', id, { CustomerTier__c: 'VIP' }); // same second again: same SystemModstamp
    expect(sb.control.records('Account').find((a) => a.Id === id)!.SystemModstamp).toBe((first[0].records[0].payload as { SystemModstamp: string }).SystemModstamp);
    const second = await readAll(c.streams.accounts, first[0].cursor);
    expect(second.flatMap((p) => p.records).map((r) => [r.externalId, (r.payload as { CustomerTier__c: string }).CustomerTier__c])).toEqual([[id, 'VIP']]);
    tick(); // the second is over (and settled): the cursor now moves past the record
    const third = await readAll(c.streams.accounts, second[0].cursor);
    expect(ids(third)).toEqual([id]);
    expect(await readAll(c.streams.accounts, third[0].cursor)).toEqual([{ records: [], cursor: third[0].cursor, hasMore: false }]);
  });

  it('keeps the settle window of the query for all its pages: a slow read does not step over the query second', async () => {
    const c = connector();
    const full = await readAll(c.streams.accounts);
    tick();
    sfNow += 300; // the query runs at hh:mm:00.3
    const [x, y, z] = sb.control.records('Account').map((r) => r.Id).slice(0, 3).sort();
    for (const id of [z, y, x]) sb.control.update('Account', id, { CustomerTier__c: 'Gold' });
    const queryStamp = sb.control.records('Account').find((a) => a.Id === x)!.SystemModstamp;
    sb.control.setMaxBatchSize(1);
    const pages: SourcePage[] = [];
    for await (const p of c.streams.accounts.read(full[full.length - 1].cursor)) {
      pages.push(p);
      if (pages.length === 1) {
        sfNow += 500; // X (lowest Id, already read) saved again at .8: same second, same SystemModstamp
        sb.control.update('Account', x, { CustomerTier__c: 'VIP' });
        expect(sb.control.records('Account').find((a) => a.Id === x)!.SystemModstamp).toBe(queryStamp);
        tick(7_000); // the rest of the pages answer 7 s later, past the 5 s settle window
      }
    }
    expect(ids(pages)).toEqual([x, y, z]);
    tick();
    const next = await readAll(c.streams.accounts, pages[pages.length - 1].cursor);
    const tierOf = (id: string) => (next.flatMap((p) => p.records).find((r) => r.externalId === id)?.payload as { CustomerTier__c?: string } | undefined)?.CustomerTier__c;
    expect(tierOf(x)).toBe('VIP');
  });

  it('after a lost query locator, the pages of the new query settle by that query time', async () => {
    const c = connector();
    const full = await readAll(c.streams.accounts);
    tick();
    const [x, y] = sb.control.records('Account').map((r) => r.Id).slice(0, 2).sort();
    for (const id of [y, x]) sb.control.update('Account', id, { CustomerTier__c: 'Gold' });
    const queryAt = sfNow;
    sb.control.setMaxBatchSize(1);
    const pages: SourcePage[] = [];
    for await (const p of c.streams.accounts.read(full[full.length - 1].cursor)) {
      pages.push(p);
      if (pages.length === 1) {
        sb.control.expireQueryLocators();
        tick(); // the re-query runs a minute later: both records are settled by its clock
      }
    }
    expect(ids(pages)).toEqual([x, y]);
    expect(sb.control.requests.filter((r) => r.status === 400)).toHaveLength(1); // the lost locator
    expect(pages[0].cursor).toBe(soqlDateTime(queryAt - 6_000)); // x is too young for the first query
    const stampOfY = parseSalesforceDateTime(sb.control.records('Account').find((a) => a.Id === y)!.SystemModstamp)!;
    expect(pages[1].cursor).toBe(`${soqlDateTime(stampOfY)}|${y}`); // settled by the re-query clock
  });

  it('resumes exactly from the cursor of any page, with page boundaries inside runs of equal SystemModstamps', async () => {
    // 30 of 41 contacts share the import's SystemModstamp; 4 per batch puts boundaries inside that run.
    sb.control.setMaxBatchSize(4);
    const c = connector();
    const all = ids(await readAll(c.streams.contacts));
    const stamps = sb.control.records('Contact').map((r) => r.SystemModstamp);
    expect(stamps.filter((s) => s === sb.control.stories!.contactImportModstamp).length).toBeGreaterThan(8);
    const pageCount = Math.ceil(all.length / 4);
    for (let crashAfter = 1; crashAfter < pageCount; crashAfter++) {
      const stored = await readPages(c.streams.contacts, crashAfter);
      const rest = await readAll(c.streams.contacts, stored[stored.length - 1].cursor);
      expect([...ids(stored), ...ids(rest)]).toEqual(all);
    }
  });

  it('pages a scaled org (benchmark data) in batches of 2,000', async () => {
    const big = await startSalesforceSandbox({ port: 0, scale: 4_000, now: () => sfNow });
    try {
      const c = connector({ baseUrl: big.url });
      const pages = await readAll(c.streams.accounts);
      expect(pages.map((p) => p.records.length)).toEqual([2000, 2000, 40]);
      expect(new Set(ids(pages)).size).toBe(4_040);
    } finally {
      await big.close();
    }
  });

  it('uses the page size hint as Sforce-Query-Options batchSize (clamped to 200–2,000)', async () => {
    await readAll(connector().streams.accounts, null, 50);
    await readAll(connector({ streams: { cases: { pageSize: 300 } } }).streams.cases);
    expect(sb.control.requests.filter((r) => r.soql).map((r) => r.batchSize)).toEqual([200, 300]);
  });

  it('reads with the password grant too', async () => {
    const creds = sb.control.credentials;
    const c = connector({
      credentials: {
        clientId: { value: creds.clientId },
        clientSecret: { value: creds.clientSecret },
        username: { value: creds.username },
        password: { value: creds.password },
      },
    });
    expect(ids(await readAll(c.streams.cases))).toHaveLength(sb.control.counts().Case);
  });
});

describe('failures the sandbox injects', () => {
  it('rides out 503s with backoff', async () => {
    sb.control.failNext(2, 503);
    const pages = await readAll(connector().streams.accounts);
    expect(ids(pages)).toHaveLength(40);
    expect(clock.sleeps).toEqual([50, 100]);
  });

  it('logs in again when the session expires between pages, once', async () => {
    sb.control.setMaxBatchSize(10);
    const c = connector();
    const got: string[] = [];
    for await (const p of c.streams.accounts.read(null)) {
      got.push(...p.records.map((r) => r.externalId));
      if (got.length === 10) sb.control.expireSessions();
    }
    expect(got).toHaveLength(40);
    expect(tokenCalls()).toBe(2);
  });

  it('fails with CONNECTOR_AUTH_FAILED when the re-login is refused', async () => {
    const c = connector();
    await readAll(c.streams.accounts);
    sb.control.expireSessions();
    sb.control.refuseLogins(1);
    const err = await rejection(readAll(c.streams.accounts));
    expect(err.code).toBe('CONNECTOR_AUTH_FAILED');
    expect(err.vendorErrors).toEqual([{ code: 'invalid_grant', message: 'authentication failure' }]);
  });

  it('re-queries from the cursor when the query locator is gone, without gaps or duplicates', async () => {
    sb.control.setMaxBatchSize(6);
    const got: string[] = [];
    for await (const p of connector().streams.contacts.read(null)) {
      got.push(...p.records.map((r) => r.externalId));
      if (got.length === 12) sb.control.expireQueryLocators();
    }
    expect(got).toEqual(sb.control.records('Contact').map((r) => r.Id));
    expect(sb.control.requests.filter((r) => r.status === 400)).toHaveLength(1);
  });

  it('retries a request that got no answer within the timeout', async () => {
    sb.control.delayNext(1, 5_000, 'query');
    const pages = await readAll(connector({ timeoutMs: 200 }).streams.cases);
    expect(ids(pages)).toHaveLength(sb.control.counts().Case);
    expect(clock.sleeps).toEqual([50]);
    expect(sb.control.requests.filter((r) => r.soql)).toHaveLength(2);
  });

  it('waits a 429 out for its Retry-After', async () => {
    sb.control.rateLimitNext(1, 'http429', { retryAfterSeconds: 2 });
    await readAll(connector().streams.cases);
    expect(clock.sleeps).toEqual([2000]);
  });

  it('the daily REQUEST_LIMIT_EXCEEDED stops the read as rate limited', async () => {
    sb.control.rateLimitNext(1, 'daily');
    const err = await rejection(readAll(connector().streams.cases));
    expect(err.code).toBe('CONNECTOR_RATE_LIMITED');
    expect(err.retryAfterMs).toBe(15 * 60_000);
  });

  it('a truncated JSON body is CONNECTOR_BAD_RESPONSE', async () => {
    sb.control.malformedNext(1, 'query');
    const err = await rejection(readAll(connector().streams.accounts));
    expect(err.code).toBe('CONNECTOR_BAD_RESPONSE');
  });

  it('a configured field the org does not have is refused with Salesforce INVALID_FIELD text', async () => {
    const err = await rejection(readAll(connector({ streams: { accounts: { tierField: 'Tier__c' } } }).streams.accounts));
    expect(err.code).toBe('CONNECTOR_REQUEST_REJECTED');
    expect(err.vendorErrors?.[0].code).toBe('INVALID_FIELD');
    expect(err.vendorErrors?.[0].message).toContain("No such column 'Tier__c' on entity 'Account'");
    expect(err.message).toContain('INVALID_FIELD');
  });

  it('answers SOQL it does not understand with MALFORMED_QUERY', async () => {
    const err = await rejection(client().query('SELECT Id FORM Account'));
    expect(err.code).toBe('CONNECTOR_REQUEST_REJECTED');
    expect(err.vendorErrors?.[0].code).toBe('MALFORMED_QUERY');
  });

  it('health: ok against the sandbox, and an instance_url on another host is ignored', async () => {
    sb.control.setInstanceUrl('https://evil.test');
    const c = connector();
    const health = await c.healthCheck();
    expect(health).toMatchObject({ ok: true, details: { instance: new URL(sb.url).origin, ignoredInstanceUrl: 'https://evil.test' } });
    expect(ids(await readAll(c.streams.accounts))).toHaveLength(40);
  });
});

describe('writes (for the write-back issue)', () => {
  it('creates and updates records; the change is what the next incremental read returns', async () => {
    const sf = client();
    const stream = connector().streams.cases;
    const full = await readAll(stream);
    const account = sb.control.records('Account')[0];

    const created = await sf.createRecord('Case', { Subject: '回访:E1 故障已处理', Status: 'New', AccountId: account.Id, Serial_Number__c: 'GA72H2305123456' });
    expect(created).toMatchObject({ success: true, errors: [] });
    tick();
    const after1 = await readAll(stream, full[full.length - 1].cursor);
    expect(ids(after1)).toEqual([created.id]);
    expect(after1[0].records[0].payload).toMatchObject({ CaseNumber: expect.stringMatching(/^\d{8}$/), IsClosed: false, ClosedDate: null });

    await sf.updateRecord('Case', created.id, { Status: 'Closed' });
    tick();
    const rec = await sf.getRecord('Case', created.id, ['Status', 'IsClosed', 'ClosedDate']);
    expect(rec).toMatchObject({ Status: 'Closed', IsClosed: true, ClosedDate: expect.stringMatching(/\+0000$/) });
    const after2 = await readAll(stream, after1[0].cursor);
    expect(ids(after2)).toEqual([created.id]);
  });

  it('refuses a stale conditional update with CONNECTOR_CONFLICT', async () => {
    const sf = client();
    const caseId = sb.control.stories!.openCaseOfResolvedTicket.caseId;
    await sf.updateRecord('Case', caseId, { Status: 'Working' });
    const err = await rejection(sf.updateRecord('Case', caseId, { Status: 'Closed' }, { ifUnmodifiedSince: new Date('2020-01-01T00:00:00Z') }));
    expect(err.code).toBe('CONNECTOR_CONFLICT');
    expect(err.status).toBe(412);
  });

  it('answers invalid writes with Salesforce error codes', async () => {
    const sf = client();
    const unknown = await rejection(sf.createRecord('Case', { Nope__c: 1 }));
    expect(unknown.vendorErrors?.[0].code).toBe('INVALID_FIELD');
    const missing = await rejection(sf.createRecord('Contact', { FirstName: '伟' }));
    expect(missing.vendorErrors?.[0]).toEqual({ code: 'REQUIRED_FIELD_MISSING', message: 'Required fields are missing: [LastName]', field: 'LastName' });
    const readOnly = await rejection(sf.updateRecord('Case', sb.control.records('Case')[0].Id, { CaseNumber: '1' }));
    expect(readOnly.vendorErrors?.[0].code).toBe('INVALID_FIELD_FOR_INSERT_UPDATE');
  });
});

describe('sandbox data', () => {
  const dataset = generateDemoDataset();
  const data = buildSalesforceSandboxData();

  it('is deterministic', () => {
    expect(buildSalesforceSandboxData()).toEqual(data);
  });

  it('has every demo customer as an Account whose raw phone normalizes to the customer phone', () => {
    expect(data.Account).toHaveLength(dataset.customers.length);
    for (const c of dataset.customers) {
      const a = data.Account.find((x) => x.Id === c.crmId)!;
      expect(a.Phone).toBe(c.rawPhone);
      expect(normalizePhone(String(a.Phone))).toBe(c.phone);
      expect(String(a.Name).trim()).toBe(c.name);
      expect(a.SystemModstamp).toBe(c.updatedAt.replace('Z', '+0000'));
    }
    // Each contact is someone the hub already knows (same phone as its account), or has no phone.
    const phoneOf = new Map(dataset.customers.map((c) => [c.crmId, c.phone]));
    for (const k of data.Contact) {
      const raw = k.MobilePhone ?? k.Phone;
      if (k.Id === data.stories.phonelessContactId) expect(raw).toBeNull();
      else expect(normalizePhone(String(raw))).toBe(phoneOf.get(String(k.AccountId)));
    }
  });

  it('keeps the real-life disagreements', () => {
    const s = data.stories;
    const acc = (id: string) => data.Account.find((a) => a.Id === id)!;
    expect(acc(s.nameMismatchAccountId).Name).toBe('刘洋');
    expect(dataset.customers.find((c) => c.crmId === s.nameMismatchAccountId)!.erpName).toBe('刘阳');
    expect(acc(s.spacedPhoneAccountId).Phone).toMatch(/^\d{3} \d{4} \d{4}$/);
    expect(acc(s.fullWidthPhoneAccountId).Phone).toMatch(/^[０-９]{11}$/);
    expect(acc(s.paddedNameAccountId).Name).toMatch(/ $/);
    expect(acc(s.legacyTierAccountId).CustomerTier__c).toBe('金卡');
    expect(acc(s.shortProvinceAccountId).BillingState).toBe('浙江');
    const phoneOnly = data.Contact.find((k) => k.Id === s.phoneOnlyContactId)!;
    expect(phoneOnly.MobilePhone).toBeNull();
    expect(phoneOnly.Phone).toMatch(/[０-９]/);

    const open = data.Case.find((k) => k.Id === s.openCaseOfResolvedTicket.caseId)!;
    const ticket = dataset.tickets.find((t) => t.number === s.openCaseOfResolvedTicket.ticketNumber)!;
    expect(ticket.status).toBe('RESOLVED');
    expect(open).toMatchObject({ Status: 'Working', IsClosed: false, ClosedDate: null });
    expect(normalizeSerial(String(open.Serial_Number__c))).toBe(ticket.deviceSerial);
  });

  it('has open and closed cases, most with the device serial as typed', () => {
    const open = data.Case.filter((k) => !k.IsClosed);
    const closed = data.Case.filter((k) => k.IsClosed);
    expect(open.length).toBeGreaterThan(5);
    expect(closed.length).toBeGreaterThan(5);
    expect(closed.every((k) => k.Status === 'Closed' && typeof k.ClosedDate === 'string')).toBe(true);
    expect(open.every((k) => k.ClosedDate === null)).toBe(true);
    expect(data.Case.filter((k) => k.Serial_Number__c !== null).length).toBeGreaterThan(40);
    expect(new Set(data.Case.map((k) => k.CaseNumber)).size).toBe(data.Case.length);
  });

  it('scale adds synthetic accounts with unique ids and valid, unique phones', () => {
    const big = buildSalesforceSandboxData({ scale: 500 });
    expect(big.Account).toHaveLength(540);
    expect(new Set(big.Account.map((a) => a.Id)).size).toBe(540);
    const phones = big.Account.map((a) => normalizePhone(String(a.Phone)));
    expect(phones.every((p) => p !== null)).toBe(true);
    expect(new Set(phones).size).toBe(540);
    expect(buildSalesforceSandboxData({ scale: 500 })).toEqual(big);
  });
});
