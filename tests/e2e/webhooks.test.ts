/**
 * Inbound push over HTTP against a real gateway and database: Salesforce Outbound Messages (SOAP,
 * acknowledged), Salesforce Apex/Flow JSON (HMAC), ThingsBoard REST API Call node (shared secret);
 * what each does to golden records and lineage; and every way a push is refused.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { sqlOne, sqlRows } from '../../src/db/sql';
import { signBody } from '../../src/webhooks/verify';
import { startTestHub, TestHub } from '../support/server';

const CRM_SECRET = 'crm-hmac-secret-0123456789abcdef';
const OM_TOKEN = 'om-token-0123456789abcdef';
const IOT_SECRET = 'iot-shared-secret-0123456789';
const ORG = '00D5g000004XyZ1EAK';
const DEVICE_ID = 'a737d4f0-ea7d-11ef-b377-dae2b5fbc95c';

let hub: TestHub;
let dir: string;
let base: string;

beforeAll(async () => {
  process.env.TEST_WEBHOOK_CRM_SECRET = CRM_SECRET;
  process.env.TEST_WEBHOOK_OM_TOKEN = OM_TOKEN;
  process.env.TEST_WEBHOOK_IOT_SECRET = IOT_SECRET;
  dir = mkdtempSync(join(tmpdir(), 'junction-webhooks-'));
  const configFile = join(dir, 'junction.config.yaml');
  writeFileSync(configFile, `
connectors:
  - name: crm
    type: salesforce
    baseUrl: http://127.0.0.1:9
    sandbox: true
    credentials: { clientId: { value: id }, clientSecret: { value: secret } }
    webhook:
      mode: hmac-sha256
      secret: { env: TEST_WEBHOOK_CRM_SECRET }
      outboundMessageToken: { env: TEST_WEBHOOK_OM_TOKEN }
      organizationIds: ['${ORG}']
      maxBytes: 65536
  - name: crm-quiet
    type: salesforce
    baseUrl: http://127.0.0.1:9
    sandbox: true
    credentials: { clientId: { value: id }, clientSecret: { value: secret } }
  - name: iot
    type: thingsboard
    baseUrl: http://127.0.0.1:9
    sandbox: true
    credentials: { username: { value: u }, password: { value: p } }
    webhook:
      mode: shared-secret
      secret: { env: TEST_WEBHOOK_IOT_SECRET }
      tokenHeader: X-Junction-Token
  - name: iot-unset
    type: thingsboard
    baseUrl: http://127.0.0.1:9
    sandbox: true
    credentials: { username: { value: u }, password: { value: p } }
    webhook: { mode: shared-secret, secret: { env: TEST_WEBHOOK_NEVER_SET } }
`);
  hub = await startTestHub({ connectorsConfig: configFile });
  base = `http://127.0.0.1:${hub.server.port}/webhooks`;
});
afterAll(async () => {
  await hub.stop();
  rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Senders

function outboundMessage(notifications: Array<{ id: string; type: string; fields: string }>, org = ORG, sessionId: string | null = null): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <soapenv:Body>
  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">
   <OrganizationId>${org}</OrganizationId>
   <ActionId>04k5g000000KzaBAAS</ActionId>
   ${sessionId === null ? '<SessionId xsi:nil="true"/>' : `<SessionId>${sessionId}</SessionId>`}
   <EnterpriseUrl>https://acme.my.salesforce.com/services/Soap/c/59.0/00D5g000004XyZ1</EnterpriseUrl>
   <PartnerUrl>https://acme.my.salesforce.com/services/Soap/u/59.0/00D5g000004XyZ1</PartnerUrl>
${notifications.map((n) => `   <Notification>
    <Id>${n.id}</Id>
    <sObject xsi:type="sf:${n.type}" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">${n.fields}</sObject>
   </Notification>`).join('\n')}
  </notifications>
 </soapenv:Body>
</soapenv:Envelope>`;
}

const ACCOUNT_FIELDS = (name: string, modstamp = '2026-11-20T08:00:00.000Z') =>
  `<sf:Id>0015g00000WbHk1AAF</sf:Id><sf:Name>${name}</sf:Name><sf:Phone>138 0013 8123</sf:Phone><sf:BillingState>浙江省</sf:BillingState><sf:CustomerTier__c>金卡</sf:CustomerTier__c><sf:SystemModstamp>${modstamp}</sf:SystemModstamp>`;

async function postSoap(body: string, token: string | null = OM_TOKEN, connector = 'crm') {
  const res = await fetch(`${base}/${connector}${token !== null ? `?token=${encodeURIComponent(token)}` : ''}`, {
    method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '""' }, body,
  });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

async function postSigned(body: string, opts: { secret?: string; ts?: number; headers?: Record<string, string>; sign?: boolean } = {}) {
  const ts = String(opts.ts ?? Math.floor(Date.now() / 1000));
  const headers: Record<string, string> = { 'content-type': 'application/json', ...opts.headers };
  if (opts.sign !== false) {
    headers['x-junction-timestamp'] = ts;
    headers['x-junction-signature'] = `sha256=${signBody(opts.secret ?? CRM_SECRET, ts, body)}`;
  }
  return send('crm', body, headers);
}

async function send(connector: string, body: string | Buffer, headers: Record<string, string>) {
  const res = await fetch(`${base}/${connector}`, { method: 'POST', headers, body });
  const text = await res.text();
  let json: any = null;
  try { json = JSON.parse(text); } catch { /* XML or empty */ }
  return { status: res.status, json, text };
}

const tb = (body: unknown, headers: Record<string, string> = {}) =>
  send('iot', JSON.stringify(body), { 'content-type': 'application/json', 'x-junction-token': IOT_SECRET, 'x-tb-device-name': 'ga72h 2305 123456', 'x-tb-device-id': DEVICE_ID, ...headers });

const events = (connector: string) => sqlRows<any>(hub.server.orm, `select * from webhook_event where connector = ? order by id`, [connector]);
const eventCount = async () => Number((await sqlOne<{ n: string }>(hub.server.orm, `select count(*) as n from webhook_event`))!.n);

// ---------------------------------------------------------------------------------------------

describe('Salesforce Outbound Messages (SOAP)', () => {
  it('merges a pushed Account into the golden customer with lineage and answers with the Ack Salesforce waits for', async () => {
    const r = await postSoap(outboundMessage([{ id: '04l5g00000AbCdEAAV', type: 'Account', fields: ACCOUNT_FIELDS('王芳') }]));
    expect(r.status).toBe(200);
    expect(r.type).toMatch(/^text\/xml/);
    expect(r.text).toContain('<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse>');
    expect(r.text).toContain('<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">');

    const g = await hub.gql(`{ customer(phone: "13800138123") { name tier region lineage { field system stream externalId } } }`);
    expect(g.errors).toBeUndefined();
    expect(g.data.customer).toMatchObject({ name: '王芳', tier: 'GOLD', region: '华东' });
    expect(g.data.customer.lineage).toEqual(expect.arrayContaining([
      { field: 'name', system: 'crm', stream: 'accounts', externalId: '0015g00000WbHk1AAF' },
    ]));
    const [ev] = await events('crm');
    expect(ev).toMatchObject({ kind: 'salesforce.outbound-message', status: 'PROCESSED', records: 1, merged: 1, failed: 0, deliveries: 1, error: null });
    expect(ev.external_ids).toEqual([{ stream: 'accounts', externalId: '0015g00000WbHk1AAF' }]);
    expect(ev.payload).toContain('<OrganizationId>00D5g000004XyZ1EAK</OrganizationId>');
    const src = await sqlOne<any>(hub.server.orm, `select status, payload from source_record where connector = 'crm' and stream = 'accounts' and external_id = '0015g00000WbHk1AAF'`);
    expect(src).toMatchObject({ status: 'MERGED', payload: { attributes: { type: 'Account' }, Id: '0015g00000WbHk1AAF', Name: '王芳' } });
  });

  it('acknowledges a resent notification without processing it again', async () => {
    // Same notification id, different content: were it processed again, the name would change.
    const r = await postSoap(outboundMessage([{ id: '04l5g00000AbCdEAAV', type: 'Account', fields: ACCOUNT_FIELDS('王芳芳', '2026-11-20T09:00:00.000Z') }]));
    expect(r.status).toBe(200);
    expect(r.text).toContain('<Ack>true</Ack>');
    const c = await sqlOne<any>(hub.server.orm, `select name from customer where phone = '+8613800138123'`);
    expect(c.name).toBe('王芳');
    const evs = await events('crm');
    expect(evs).toHaveLength(1);
    expect(evs[0].deliveries).toBe(2);
  });

  it('completes the stored record with a message that selects fewer fields, and skips one older than what is stored', async () => {
    // Only Id, Name and SystemModstamp: the stored Phone still identifies the customer.
    const partial = await postSoap(outboundMessage([{ id: '04l5g00000PaRtLAAV', type: 'Account', fields: '<sf:Id>0015g00000WbHk1AAF</sf:Id><sf:Name>王芳 (VIP)</sf:Name><sf:SystemModstamp>2026-11-20T08:30:00.000Z</sf:SystemModstamp>' }]));
    expect(partial.status).toBe(200);
    expect((await sqlOne<any>(hub.server.orm, `select name, tier from customer where phone = '+8613800138123'`))).toEqual({ name: '王芳 (VIP)', tier: 'GOLD' });
    // Delivered late (Salesforce retries out of order): older than the stored version.
    const late = await postSoap(outboundMessage([{ id: '04l5g00000LaTeEAAV', type: 'Account', fields: ACCOUNT_FIELDS('王芳 (old)', '2026-11-20T07:00:00.000Z') }]));
    expect(late.status).toBe(200);
    expect(late.text).toContain('<Ack>true</Ack>');
    expect((await sqlOne<any>(hub.server.orm, `select name from customer where phone = '+8613800138123'`)).name).toBe('王芳 (VIP)');
    const ev = (await events('crm')).pop();
    expect(ev).toMatchObject({ status: 'PROCESSED', records: 1, merged: 0, unchanged: 1 });
  });

  it('merges a pushed Case into a complaint of the pushed account, with nil fields and text booleans read as Salesforce means them', async () => {
    const r = await postSoap(outboundMessage([
      { id: '04l5g00000AbCdFAAV', type: 'Case', fields: '<sf:Id>5005g00000Q1w2EAAR</sf:Id><sf:CaseNumber>00009001</sf:CaseNumber><sf:AccountId>0015g00000WbHk1AAF</sf:AccountId><sf:Subject>E1 高压保护</sf:Subject><sf:Status>Working</sf:Status><sf:IsClosed>false</sf:IsClosed><sf:ClosedDate xsi:nil="true"/><sf:CreatedDate>2026-11-20T08:10:00.000Z</sf:CreatedDate><sf:SystemModstamp>2026-11-20T08:10:00.000Z</sf:SystemModstamp><sf:Serial_Number__c>ga50n 2409 331842</sf:Serial_Number__c>' },
    ]));
    expect(r.status).toBe(200);
    const row = await sqlOne<any>(hub.server.orm,
      `select c.case_number, c.status, c.closed_at, junction_lineage(c.lineage) as lineage, cu.phone from complaint c join customer cu on cu.id = c.customer_id where c.case_number = '00009001'`);
    expect(row).toMatchObject({ case_number: '00009001', status: 'OPEN', closed_at: null, phone: '+8613800138123' });
    expect(row.lineage.subject).toMatchObject({ system: 'crm', stream: 'cases', externalId: '5005g00000Q1w2EAAR' });
  });

  it('refuses a message without the token, with a wrong token, or from another organization, storing nothing', async () => {
    const msg = outboundMessage([{ id: '04l5g00000ZzZzZAAV', type: 'Account', fields: ACCOUNT_FIELDS('冒名') }]);
    const before = await eventCount();
    const none = await postSoap(msg, null);
    expect(none.status).toBe(401);
    expect(none.text).toContain('<faultcode>soapenv:Client</faultcode>');
    expect(none.text).toContain('WEBHOOK_UNSIGNED');
    const wrong = await postSoap(msg, 'om-token-guess-000000000');
    expect(wrong.status).toBe(401);
    expect(wrong.text).toContain('WEBHOOK_BAD_SIGNATURE');
    expect(wrong.text).not.toContain('om-token-guess');
    const other = await postSoap(outboundMessage([{ id: '04l5g00000ZzZzZAAV', type: 'Account', fields: ACCOUNT_FIELDS('冒名') }], '00D5g000009ZzZzEAK'));
    expect(other.status).toBe(403);
    expect(other.text).toContain('WEBHOOK_ORG_NOT_ALLOWED');
    expect(await eventCount()).toBe(before);
  });

  it('stores malformed XML and a DOCTYPE (entity expansion) as failed with a 400 fault, and a NUL byte visibly replaced', async () => {
    const broken = await postSoap('<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>');
    expect(broken.status).toBe(400);
    expect(broken.text).toContain('WEBHOOK_MALFORMED');
    const xxe = await postSoap(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>`);
    expect(xxe.status).toBe(400);
    expect(xxe.text).toContain('a DOCTYPE is not allowed');
    expect(xxe.text).not.toContain('root:');
    // A NUL byte (which PostgreSQL text cannot hold) is stored visibly replaced, not a database error.
    const nul = await postSoap('<a>\u0000</a>');
    expect(nul.status).toBe(422);
    expect(nul.text).toContain('Expected a SOAP 1.1 Envelope');
    const failed = (await events('crm')).filter((e) => e.status === 'FAILED');
    expect(failed.map((e) => e.error.code)).toEqual(['WEBHOOK_MALFORMED', 'WEBHOOK_MALFORMED', 'WEBHOOK_BAD_PAYLOAD']);
    expect(failed[2].payload).toBe('<a>\uFFFD</a>');
  });

  it('never stores nor shows the session id an outbound message sent with "Send Session ID" carries', async () => {
    const token = '00D5g000004XyZ1!AQ4AQLk9.x_Wq3v2e1Zb8fT0kYpRsU7mNcVd';
    const r = await postSoap(outboundMessage([{ id: '04l5g00000SeSsAAAV', type: 'Account', fields: ACCOUNT_FIELDS('王芳 (VIP)', '2026-11-20T08:40:00.000Z') }], ORG, token));
    expect(r.status).toBe(200);
    const ev = (await events('crm')).pop();
    expect(ev.external_ids).toEqual([{ stream: 'accounts', externalId: '0015g00000WbHk1AAF' }]);
    expect(ev.payload).not.toContain(token);
    expect(ev.payload).toContain('<SessionId>[redacted]</SessionId>');
    expect(ev.payload).toContain('<OrganizationId>00D5g000004XyZ1EAK</OrganizationId>');
    // A row stored before redaction is redacted on the way out too.
    await sqlRows(hub.server.orm, `insert into webhook_event (connector, kind, dedupe_key, content_type, payload, status) values ('crm-quiet', 'salesforce.outbound-message', 'legacy', 'text/xml', ?, 'PROCESSED')`, [`<SessionId>${token}</SessionId>`]);
    const g = await hub.gql(`{ webhookEvents(first: 50) { edges { node { connector payload } } } }`, {}, hub.keys.admin);
    expect(g.errors).toBeUndefined();
    expect(JSON.stringify(g.data)).not.toContain(token);
    expect(g.data.webhookEvents.edges.find((e: any) => e.node.connector === 'crm-quiet').node.payload).toBe('<SessionId>[redacted]</SessionId>');
    await sqlRows(hub.server.orm, `delete from webhook_event where connector = 'crm-quiet'`);
  });

  it('stores a notification of an sObject type Junction does not map as failed (422) naming it', async () => {
    const r = await postSoap(outboundMessage([{ id: '04l5g00000OpPoRAAV', type: 'Opportunity', fields: '<sf:Id>0065g00000AbCdEAAR</sf:Id><sf:Name>Big deal</sf:Name>' }]));
    expect(r.status).toBe(422);
    expect(r.text).toContain('WEBHOOK_BAD_PAYLOAD: Notification[0] (04l5g00000OpPoRAAV): sObject type Opportunity is not pushed to Junction');
    const ev = (await events('crm')).pop();
    expect(ev).toMatchObject({ status: 'FAILED', error: { code: 'WEBHOOK_BAD_PAYLOAD' } });
  });
});

describe('Salesforce Apex / Flow callouts (JSON, HMAC-SHA256)', () => {
  const account = (name: string, phone = '+86 139 1234 5678') => JSON.stringify({
    attributes: { type: 'Account', url: '/services/data/v59.0/sobjects/Account/0015g00000JsOnAAAZ' },
    Id: '0015g00000JsOnAAAZ', Name: name, Phone: phone, BillingState: '北京市', SystemModstamp: '2026-11-20T10:00:00.000+0000',
  });

  it('merges a signed serialized sObject', async () => {
    const r = await postSigned(account('赵强'));
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ duplicate: false, status: 'PROCESSED', records: 1, merged: 1, failed: 0 });
    const c = await sqlOne<any>(hub.server.orm, `select name, region, junction_lineage(lineage) as lineage from customer where phone = '+8613912345678'`);
    expect(c).toMatchObject({ name: '赵强', region: '华北' });
    expect(c.lineage.name).toMatchObject({ system: 'crm', stream: 'accounts', externalId: '0015g00000JsOnAAAZ' });
  });

  it('refuses an unsigned request, a bad signature and a stale timestamp (401), storing nothing', async () => {
    const before = await eventCount();
    const unsigned = await postSigned(account('X'), { sign: false });
    expect(unsigned.status).toBe(401);
    expect(unsigned.json.error).toMatchObject({ code: 'WEBHOOK_UNSIGNED', field: 'X-Junction-Signature' });
    const badly = await postSigned(account('X'), { secret: 'not-the-secret-0000000000' });
    expect(badly.status).toBe(401);
    expect(badly.json.error.code).toBe('WEBHOOK_BAD_SIGNATURE');
    // Signed right, but the body was changed on the way.
    const ts = String(Math.floor(Date.now() / 1000));
    const tampered = await send('crm', account('Y'), { 'content-type': 'application/json', 'x-junction-timestamp': ts, 'x-junction-signature': signBody(CRM_SECRET, ts, account('X')) });
    expect(tampered.json.error.code).toBe('WEBHOOK_BAD_SIGNATURE');
    const stale = await postSigned(account('X'), { ts: Math.floor(Date.now() / 1000) - 3600 });
    expect(stale.status).toBe(401);
    expect(stale.json.error).toMatchObject({ code: 'WEBHOOK_STALE_TIMESTAMP' });
    expect(stale.json.error.message).toMatch(/is 3\d{3} s old; requests are accepted within 300 s/);
    expect(await eventCount()).toBe(before);
  });

  it('acknowledges a replayed request (same signature) without processing it again', async () => {
    const body = JSON.stringify({ records: [{ attributes: { type: 'Account' }, Id: '0015g00000RePlAAAZ', Name: '孙丽', Phone: '13700137000', SystemModstamp: '2026-11-20T11:00:00.000Z' }] });
    const ts = String(Math.floor(Date.now() / 1000));
    const headers = { 'content-type': 'application/json', 'x-junction-timestamp': ts, 'x-junction-signature': signBody(CRM_SECRET, ts, body) };
    const first = await send('crm', body, headers);
    expect(first.json).toMatchObject({ duplicate: false, merged: 1 });
    await sqlRows(hub.server.orm, `update customer set name = '改过' where phone = '+8613700137000'`);
    const again = await send('crm', body, headers);
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ duplicate: true, eventId: first.json.eventId, status: 'PROCESSED' });
    // Processing it again would have put 孙丽 back.
    expect((await sqlOne<any>(hub.server.orm, `select name from customer where phone = '+8613700137000'`)).name).toBe('改过');
    // The same MAC written another way (upper-case hex, prefixed, base64) is the same delivery.
    const mac = Buffer.from(headers['x-junction-signature'], 'hex');
    for (const signature of [mac.toString('hex').toUpperCase(), `sha256=${mac.toString('hex')}`, mac.toString('base64')]) {
      const replay = await send('crm', body, { ...headers, 'x-junction-signature': signature });
      expect(replay.json).toMatchObject({ duplicate: true, eventId: first.json.eventId });
    }
    expect((await sqlOne<any>(hub.server.orm, `select name from customer where phone = '+8613700137000'`)).name).toBe('改过');
  });

  it('refuses a record without SystemModstamp (422 naming it), leaving the stored one', async () => {
    const undated = JSON.stringify({ attributes: { type: 'Account' }, Id: '0015g00000JsOnAAAZ', Name: '赵强 (late retry)', Phone: '+86 139 1234 5678' });
    const r = await postSigned(undated);
    expect(r.status).toBe(422);
    expect(r.json.error).toMatchObject({ code: 'WEBHOOK_BAD_PAYLOAD', field: 'records[0].SystemModstamp' });
    expect(r.json.error.message).toContain('SystemModstamp');
    expect((await sqlOne<any>(hub.server.orm, `select name from customer where phone = '+8613912345678'`)).name).toBe('赵强');
    const om = await postSoap(outboundMessage([{ id: '04l5g00000NoStAAAV', type: 'Account', fields: '<sf:Id>0015g00000WbHk1AAF</sf:Id><sf:Name>王芳 (late)</sf:Name>' }]));
    expect(om.status).toBe(422);
    expect(om.text).toContain('WEBHOOK_BAD_PAYLOAD: Notification[0] (04l5g00000NoStAAAV): Account 0015g00000WbHk1AAF has no SystemModstamp');
    expect((await sqlOne<any>(hub.server.orm, `select name from customer where phone = '+8613800138123'`)).name).toBe('王芳 (VIP)');
  });

  it('treats the same event id as the same delivery', async () => {
    const a = await postSigned(account('赵强'), { headers: { 'x-junction-event-id': 'evt-42' } });
    const b = await postSigned(account('赵强'), { headers: { 'x-junction-event-id': 'evt-42' }, ts: Math.floor(Date.now() / 1000) - 1 });
    expect(a.json.duplicate).toBe(false);
    expect(b.json).toMatchObject({ duplicate: true, eventId: a.json.eventId });
  });

  it('processes a delivery again when its first attempt failed (the sender fixed it and resent)', async () => {
    const first = await postSigned(account('钱多', 'none'), { headers: { 'x-junction-event-id': 'evt-fix' } });
    expect(first.status).toBe(422);
    const fixed = await postSigned(account('钱多', '13600136000'), { headers: { 'x-junction-event-id': 'evt-fix' } });
    expect(fixed.status).toBe(200);
    expect(fixed.json).toMatchObject({ duplicate: false, status: 'PROCESSED', merged: 1, eventId: first.json.error.eventId });
    const ev = await sqlOne<any>(hub.server.orm, `select status, deliveries, error, payload from webhook_event where id = ?`, [fixed.json.eventId]);
    expect(ev).toMatchObject({ status: 'PROCESSED', deliveries: 2, error: null });
    expect(ev.payload).toContain('13600136000');
  });

  it('refuses an oversized body (413) and a wrong content type (415)', async () => {
    const big = await postSigned(JSON.stringify({ records: [], pad: 'x'.repeat(70_000) }));
    expect(big.status).toBe(413);
    expect(big.json.error).toMatchObject({ code: 'WEBHOOK_TOO_LARGE' });
    // Chunked, without Content-Length: cut off while reading.
    const chunk = new TextEncoder().encode('x'.repeat(16_384));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent++ < 8) c.enqueue(chunk);
        else c.close();
      },
    });
    const chunked = await fetch(`${base}/crm`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: stream, duplex: 'half' } as RequestInit);
    expect(chunked.status).toBe(413);
    expect(chunked.headers.get('content-length')).not.toBeNull();
    expect(((await chunked.json()) as any).error.code).toBe('WEBHOOK_TOO_LARGE');
    const plain = await send('crm', account('X'), { 'content-type': 'text/plain' });
    expect(plain.status).toBe(415);
    expect(plain.json.error.message).toBe('Content-Type "text/plain" is not accepted by connector crm: send application/json or text/xml (SOAP 1.1)');
  });

  it('stores malformed JSON (400), a body of the wrong shape (422) and a record that cannot map (422) as failed', async () => {
    const malformed = await postSigned('{"records": [');
    expect(malformed.status).toBe(400);
    expect(malformed.json.error.code).toBe('WEBHOOK_MALFORMED');
    const nul = await postSigned(JSON.stringify({ attributes: { type: 'Account' }, Id: '0015g00000NuLlAAAZ', Name: 'a\u0000b', Phone: '13500135000' }));
    expect(nul.status).toBe(400);
    expect(nul.json.error).toMatchObject({ code: 'WEBHOOK_MALFORMED', message: 'The JSON body holds a NUL character (\\u0000), which Junction does not store' });
    const shape = await postSigned(JSON.stringify({ hello: 'world' }));
    expect(shape.status).toBe(422);
    expect(shape.json.error).toMatchObject({ code: 'WEBHOOK_BAD_PAYLOAD' });
    expect(shape.json.error.message).toContain('Expected a serialized sObject');
    const noId = await postSigned(JSON.stringify([{ attributes: { type: 'Contact' }, Name: 'x' }]));
    expect(noId.json.error).toMatchObject({ code: 'WEBHOOK_BAD_PAYLOAD', field: 'records[0].Id' });
    const noPhone = await postSigned(account('无电话', ''));
    expect(noPhone.status).toBe(422);
    expect(noPhone.json.error.message).toContain('has no valid phone');
    const evs = await events('crm');
    const last = evs.slice(-5);
    expect(last.map((e) => [e.status, e.error.code])).toEqual([
      ['FAILED', 'WEBHOOK_MALFORMED'], ['FAILED', 'WEBHOOK_MALFORMED'], ['FAILED', 'WEBHOOK_BAD_PAYLOAD'], ['FAILED', 'WEBHOOK_BAD_PAYLOAD'], ['FAILED', 'WEBHOOK_BAD_PAYLOAD'],
    ]);
    expect(last[0].payload).toBe('{"records": [');
    expect(last[4].error.records).toEqual([expect.objectContaining({ externalId: '0015g00000JsOnAAAZ', stream: 'accounts' })]);
    const src = await sqlOne<any>(hub.server.orm, `select status, error from source_record where connector = 'crm' and external_id = '0015g00000JsOnAAAZ'`);
    expect(src.status).toBe('FAILED');
  });
});

describe('ThingsBoard rule-engine REST API Call (JSON, shared secret)', () => {
  const now = Date.now();

  it('merges pushed telemetry into the device and its telemetry, with lineage', async () => {
    const r = await tb({ runCount: 7012, faultCodes: 'E1,F4', current_fw_version: 'V2.0.1' }, { 'x-tb-ts': String(now) });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ status: 'PROCESSED', merged: 1 });
    const g = await hub.gql(`{ device(serial: "GA72H2305123456") { serial firmware telemetry { runCount alerts } lineage { field system stream externalId } } }`);
    expect(g.errors).toBeUndefined();
    expect(g.data.device).toMatchObject({ serial: 'GA72H2305123456', firmware: 'V2.0.1', telemetry: { runCount: '7012', alerts: ['E1', 'F4'] } });
    expect(g.data.device.lineage).toEqual(expect.arrayContaining([{ field: 'firmware', system: 'iot', stream: 'devices', externalId: DEVICE_ID }]));
    const [ev] = await events('iot');
    expect(ev).toMatchObject({ kind: 'thingsboard.telemetry', status: 'PROCESSED' });
  });

  it('lays an attribute update over the stored device, and ignores values older than the stored ones', async () => {
    const online = await tb({ active: true, lastActivityTime: now }, { 'x-tb-kind': 'attributes', 'x-tb-ts': String(now + 1000) });
    expect(online.status).toBe(200);
    const late = await tb({ runCount: 6000 }, { 'x-tb-ts': String(now - 60_000) });
    expect(late.json).toMatchObject({ status: 'PROCESSED', unchanged: 1, merged: 0 });
    const t = await sqlOne<any>(hub.server.orm, `select t.online, t.run_count, t.alerts from telemetry t join device d on d.id = t.device_id where d.serial = 'GA72H2305123456'`);
    expect(t).toMatchObject({ online: true, run_count: '7012', alerts: ['E1', 'F4'] });
    const src = await sqlOne<any>(hub.server.orm, `select payload from source_record where connector = 'iot' and external_id = ?`, [DEVICE_ID]);
    expect(src.payload.timeseries.runCount).toEqual({ ts: now, value: 7012 });
    expect(src.payload.attributes).toEqual({ active: true, lastActivityTime: now });
  });

  it('refuses a push that does not say when its values are from (422 naming X-TB-Ts), leaving the newer stored value', async () => {
    // A late retry stamped with its arrival time would pass for the newest value.
    const undated = await tb({ runCount: 5000 });
    expect(undated.status).toBe(422);
    expect(undated.json.error).toMatchObject({ code: 'WEBHOOK_BAD_PAYLOAD', field: 'X-TB-Ts' });
    expect(undated.json.error.message).toContain('X-TB-Ts');
    const undatedEntry = await tb({ values: { runCount: 5000 } });
    expect(undatedEntry.json.error).toMatchObject({ code: 'WEBHOOK_BAD_PAYLOAD', field: 'X-TB-Ts' });
    const src = await sqlOne<any>(hub.server.orm, `select payload from source_record where connector = 'iot' and external_id = ?`, [DEVICE_ID]);
    expect(src.payload.timeseries.runCount).toEqual({ ts: now, value: 7012 });
    expect((await sqlOne<any>(hub.server.orm, `select t.run_count from telemetry t join device d on d.id = t.device_id where d.serial = 'GA72H2305123456'`)).run_count).toBe('7012');
    // Dated in the body instead of the header: accepted.
    expect((await tb([{ ts: now + 10, values: { runCount: 7013 } }])).json).toMatchObject({ status: 'PROCESSED', merged: 1 });
  });

  it('processes the same body again when it is a new event (another X-TB-Ts, or nothing that dates it)', async () => {
    const online = async () => (await sqlOne<any>(hub.server.orm, `select t.online from telemetry t join device d on d.id = t.device_id where d.serial = 'GA72H2305123456'`)).online;
    const attrs = (active: boolean, ts?: number) => tb({ active }, { 'x-tb-kind': 'attributes', ...(ts ? { 'x-tb-ts': String(ts) } : {}) });
    expect((await attrs(false, now + 2000)).json.duplicate).toBe(false);
    expect(await online()).toBe(false);
    expect((await attrs(true, now + 3000)).json.duplicate).toBe(false);
    expect(await online()).toBe(true);
    expect((await attrs(true, now + 3000)).json.duplicate).toBe(true);
    // Another device, found by name (no X-TB-Device-Id): each dated push is its own event.
    const byName = (active: boolean, ts: number) => tb({ active }, { 'x-tb-kind': 'attributes', 'x-tb-device-name': 'DK20P2601584965', 'x-tb-device-id': '', 'x-tb-ts': String(ts) });
    expect((await byName(false, now + 4000)).json).toMatchObject({ duplicate: false, merged: 1 });
    expect((await byName(true, now + 5000)).json).toMatchObject({ duplicate: false, merged: 1 });
    const lock = await sqlOne<any>(hub.server.orm, `select t.online from telemetry t join device d on d.id = t.device_id where d.serial = 'DK20P2601584965'`);
    expect(lock.online).toBe(true);
    const src = await sqlRows<any>(hub.server.orm, `select external_id from source_record where connector = 'iot' and payload->'device'->>'name' = 'DK20P2601584965'`);
    expect(src).toEqual([{ external_id: 'name:DK20P2601584965' }]);
  });

  it('refuses a missing or wrong shared secret and a body without the device name', async () => {
    const none = await send('iot', '{"runCount": 1}', { 'content-type': 'application/json', 'x-tb-device-name': 'X' });
    expect(none.status).toBe(401);
    expect(none.json.error).toMatchObject({ code: 'WEBHOOK_UNSIGNED', field: 'X-Junction-Token' });
    const wrong = await tb({ runCount: 1 }, { 'x-junction-token': 'guess' });
    expect(wrong.json.error.code).toBe('WEBHOOK_BAD_SIGNATURE');
    const noName = await send('iot', '{"runCount": 1}', { 'content-type': 'application/json', 'x-junction-token': IOT_SECRET });
    expect(noName.status).toBe(422);
    expect(noName.json.error).toMatchObject({ code: 'WEBHOOK_BAD_PAYLOAD', field: 'X-TB-Device-Name' });
    const xml = await send('iot', '<a/>', { 'content-type': 'text/xml', 'x-junction-token': IOT_SECRET });
    expect(xml.status).toBe(415);
  });
});

describe('webhookEvents (GraphQL, admin)', () => {
  const q = `query($connector: String, $status: WebhookEventStatus, $first: Int, $after: String) {
    webhookEvents(connector: $connector, status: $status, first: $first, after: $after) {
      edges { node { id connector kind status deliveries merged failed records { stream externalId } errorCode errorMessage recordErrors { stream externalId code message } payload } }
      pageInfo { hasNextPage endCursor }
    }
  }`;

  it('lists pushes newest first, filtered by connector and status, with errors and the body as received', async () => {
    const failed = await hub.gql(q, { connector: 'crm', status: 'FAILED', first: 20 }, hub.keys.admin);
    expect(failed.errors).toBeUndefined();
    const nodes = failed.data.webhookEvents.edges.map((e: any) => e.node);
    const stored = (await events('crm')).filter((e) => e.status === 'FAILED').reverse();
    expect(nodes.map((n: any) => n.id)).toEqual(stored.map((e) => String(e.id)));
    expect(nodes[0]).toMatchObject({ connector: 'crm', status: 'FAILED', errorCode: 'WEBHOOK_BAD_PAYLOAD', recordErrors: [expect.objectContaining({ stream: 'accounts', externalId: '0015g00000JsOnAAAZ' })] });
    expect(nodes.some((n: any) => n.payload === '{"records": [' && n.errorCode === 'WEBHOOK_MALFORMED')).toBe(true);

    const iot = await hub.gql(q, { connector: 'iot', status: 'PROCESSED', first: 1 }, hub.keys.admin);
    expect(iot.data.webhookEvents.edges[0].node).toMatchObject({ kind: 'thingsboard.attributes', records: [{ stream: 'devices', externalId: 'name:DK20P2601584965' }] });
    expect(iot.data.webhookEvents.pageInfo.hasNextPage).toBe(true);
    const next = await hub.gql(q, { connector: 'iot', status: 'PROCESSED', first: 1, after: iot.data.webhookEvents.pageInfo.endCursor }, hub.keys.admin);
    expect(Number(next.data.webhookEvents.edges[0].node.id)).toBeLessThan(Number(iot.data.webhookEvents.edges[0].node.id));
  });

  it('is for admin keys only', async () => {
    const r = await hub.gql(q, {}, hub.keys.portal);
    expect(r.errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });
});

describe('ThingsBoard pushes without X-TB-Device-Id, and write-back to the device', () => {
  const NAME = 'DK20P2601770001';
  const UUID = 'c3d1e2f0-1111-4222-8333-444455556666';
  const ts = Date.now();
  const push = (runCount: number, id: string, at: number) => tb({ runCount }, { 'x-tb-device-name': NAME, 'x-tb-device-id': id, 'x-tb-ts': String(at) });
  const links = async () => (await sqlRows<any>(hub.server.orm,
    `select l.external_id from source_link l join device d on d.id = l.entity_id where l.system = 'iot' and l.stream = 'devices' and l.entity_type = 'device' and d.serial = ? order by l.id`, [NAME])).map((r) => r.external_id);
  const iotWrites = (number: string) => sqlRows<any>(hub.server.orm,
    `select target_key, payload -> 'target' ->> 'externalId' as target from writeback_outbox where ticket_number = ? and route = 'iot-maintenance' order by id`, [number]);

  it('never queues a write-back to the name-keyed record, targets the device id once linked, and takes the id\'s record for later pushes', async () => {
    expect((await push(1, '', ts)).json).toMatchObject({ status: 'PROCESSED', merged: 1 });
    expect(await links()).toEqual([`name:${NAME}`]);
    const created = await hub.gql(`mutation($input: CreateTicketInput!) { createTicket(input: $input) { number } }`, { input: { phone: '13800138123', serial: NAME, fault: '不制冷' } });
    expect(created.errors).toBeUndefined();
    const number = created.data.createTicket.number;
    // ThingsBoard's client refuses anything but a UUID: such a row would only be retried until DEAD.
    expect(await iotWrites(number)).toEqual([]);

    // The device's ThingsBoard record (pulled, or pushed with its id): the merge links the device to
    // it too, although the device already exists (it was created by name).
    expect((await push(2, UUID, ts + 1)).json).toMatchObject({ status: 'PROCESSED', merged: 1 });
    expect(await links()).toEqual([`name:${NAME}`, UUID]);
    const moved = await hub.gql(`mutation($n: String!) { changeTicketStatus(number: $n, status: IN_PROGRESS) { number } }`, { n: number });
    expect(moved.errors).toBeUndefined();
    expect(await iotWrites(number)).toEqual([{ target_key: `iot:device:${UUID}`, target: UUID }]);

    // A later push without the id lands on the id's record, not on the older name-keyed one.
    const later = await push(3, '', ts + 2);
    expect((await events('iot')).pop().external_ids).toEqual([{ stream: 'devices', externalId: UUID }]);
    expect(later.json).toMatchObject({ status: 'PROCESSED', merged: 1 });
  });
});

describe('which connectors accept pushes', () => {
  it('answers 404 for an unknown connector and for one without a webhook section', async () => {
    const unknown = await send('nope', '{}', { 'content-type': 'application/json' });
    expect(unknown.status).toBe(404);
    expect(unknown.json.error).toMatchObject({ code: 'WEBHOOK_UNKNOWN_CONNECTOR', message: 'No connector "nope" is configured' });
    const quiet = await send('crm-quiet', '{}', { 'content-type': 'application/json' });
    expect(quiet.status).toBe(404);
    expect(quiet.json.error).toMatchObject({ code: 'WEBHOOK_NOT_ENABLED' });
    expect(quiet.json.error.message).toContain('has no webhook section');
  });

  it('answers 500 without naming the server\'s settings when the secret cannot be read', async () => {
    const r = await send('iot-unset', '{"a": 1}', { 'content-type': 'application/json', 'x-junction-token': IOT_SECRET, 'x-tb-device-name': 'X' });
    expect(r.status).toBe(500);
    expect(r.json.error).toEqual({ code: 'WEBHOOK_MISCONFIGURED', message: 'Connector iot-unset: its webhook is misconfigured on the server (see the server log)' });
    expect(JSON.stringify(r.json)).not.toContain('TEST_WEBHOOK_NEVER_SET');
  });
});
