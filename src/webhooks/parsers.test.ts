import { parseConnectorsConfig } from '../connectors/config';
import { ErrorCode } from '../errors/codes';
import { WebhookError } from './errors';
import { combineSalesforce, outboundAck, parseOutboundMessage, parseSalesforceJson, redactSessionId, soapFault } from './salesforce';
import { combineThingsBoard, parseThingsBoardPush } from './thingsboard';
import { parseXml } from './xml';

const STREAMS = ['accounts', 'contacts', 'cases'];
const codeOf = (fn: () => unknown) => {
  try {
    fn();
    return undefined;
  } catch (e) {
    return (e as WebhookError).code;
  }
};

const envelope = (inner: string) => `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>
<notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>00D5g000004XyZ1EAK</OrganizationId>${inner}</notifications></soapenv:Body></soapenv:Envelope>`;

describe('XML', () => {
  it('refuses DOCTYPEs, undefined entities, processing instructions and unclosed tags', () => {
    expect(codeOf(() => parseXml('<!DOCTYPE a [<!ENTITY b "c">]><a>&b;</a>'))).toBe(ErrorCode.WEBHOOK_MALFORMED);
    expect(codeOf(() => parseXml('<a>&xxe;</a>'))).toBe(ErrorCode.WEBHOOK_MALFORMED);
    expect(codeOf(() => parseXml('<a><?php x ?></a>'))).toBe(ErrorCode.WEBHOOK_MALFORMED);
    expect(codeOf(() => parseXml('<a><b></a>'))).toBe(ErrorCode.WEBHOOK_MALFORMED);
    expect(codeOf(() => parseXml('<a>' + '<b>'.repeat(40) + '</b>'.repeat(40) + '</a>'))).toBe(ErrorCode.WEBHOOK_MALFORMED);
  });

  it('reads namespaces, attributes, predefined entities and CDATA', () => {
    const root = parseXml('<?xml version="1.0"?><x:a xmlns:x="urn:x" k="v"><b>1 &amp; 2<![CDATA[ <3>]]></b></x:a>');
    expect(root).toMatchObject({ ns: 'urn:x', local: 'a', attrs: { k: 'v' } });
    expect(root.children[0].text).toBe('1 & 2 <3>');
  });
});

describe('Salesforce Outbound Messages', () => {
  it('reads notifications into the REST payload of their streams, accounts before cases', () => {
    const om = parseOutboundMessage(parseXml(envelope(`
      <Notification><Id>04l1</Id><sObject xsi:type="sf:Case" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>5005g00000Q1w2EAAR</sf:Id><sf:IsClosed>true</sf:IsClosed><sf:ClosedDate xsi:nil="true"/><sf:Subject>1 &lt; 2</sf:Subject><sf:LastModifiedDate>2026-11-20T07:00:00.000Z</sf:LastModifiedDate></sObject></Notification>
      <Notification><Id>04l2</Id><sObject xsi:type="sf:Account" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>0015g00000WbHk1AAF</sf:Id><sf:Name>王芳</sf:Name><sf:SystemModstamp>2026-11-20T08:00:00.000Z</sf:SystemModstamp></sObject></Notification>`)), STREAMS);
    expect(om.organizationId).toBe('00D5g000004XyZ1EAK');
    expect(om.batch.deliveryIds).toEqual(['04l1', '04l2']);
    expect(om.batch.pages.map((p) => p.stream)).toEqual(['accounts', 'cases']);
    expect(om.batch.pages[1].records[0]).toEqual({
      externalId: '5005g00000Q1w2EAAR', version: '2026-11-20T07:00:00.000Z', updatedAt: '2026-11-20T07:00:00.000Z',
      payload: { attributes: { type: 'Case', url: '/services/data/v59.0/sobjects/Case/5005g00000Q1w2EAAR' }, Id: '5005g00000Q1w2EAAR', IsClosed: true, ClosedDate: null, Subject: '1 < 2', LastModifiedDate: '2026-11-20T07:00:00.000Z' },
    });
    expect(om.batch.pages[0].records[0]).toMatchObject({ version: '2026-11-20T08:00:00.000Z', updatedAt: '2026-11-20T08:00:00.000Z' });
  });

  it('refuses envelopes that are not outbound messages, and notifications without an Id, type or known object', () => {
    const bad = (xml: string, streams = STREAMS) => codeOf(() => parseOutboundMessage(parseXml(xml), streams));
    expect(bad('<a/>')).toBe(ErrorCode.WEBHOOK_BAD_PAYLOAD);
    expect(bad(envelope(''))).toBe(ErrorCode.WEBHOOK_BAD_PAYLOAD);
    expect(bad(envelope('<Notification><sObject xsi:type="sf:Account"/></Notification>'))).toBe(ErrorCode.WEBHOOK_BAD_PAYLOAD);
    expect(bad(envelope('<Notification><Id>1</Id><sObject/></Notification>'))).toBe(ErrorCode.WEBHOOK_BAD_PAYLOAD);
    expect(bad(envelope('<Notification><Id>1</Id><sObject xsi:type="sf:Lead"><Id>00Q5g00000AbCdEAAR</Id></sObject></Notification>'))).toBe(ErrorCode.WEBHOOK_BAD_PAYLOAD);
    // A stream switched off on the connector is not fed through the back door.
    expect(bad(envelope('<Notification><Id>1</Id><sObject xsi:type="sf:Case"><Id>5005g00000Q1w2EAAR</Id></sObject></Notification>'), ['accounts'])).toBe(ErrorCode.WEBHOOK_BAD_PAYLOAD);
  });

  it('redacts the session id (a live API token with "Send Session ID") and nothing else', () => {
    const token = '00D5g000004XyZ1!AQ4AQLk9.x_Wq3v2e1Zb8fT0kY';
    expect(redactSessionId(`<a><SessionId>${token}</SessionId><Id>1</Id></a>`)).toBe('<a><SessionId>[redacted]</SessionId><Id>1</Id></a>');
    expect(redactSessionId(`<o:SessionId xmlns:o="urn:x">\n ${token} </o:SessionId>`)).toBe('<o:SessionId xmlns:o="urn:x">[redacted]</o:SessionId>');
    expect(redactSessionId(`<SessionId><![CDATA[${token}]]></SessionId>`)).toBe('<SessionId>[redacted]</SessionId>');
    // Cut off or malformed: everything after the opening tag goes.
    expect(redactSessionId(`<a><SessionId>${token}`)).toBe('<a><SessionId>[redacted]');
    for (const kept of ['<SessionId xsi:nil="true"/><Id>1</Id>', '<SessionId/>', '<SessionId></SessionId>', '<Description>SessionId: none</Description>']) {
      expect(redactSessionId(kept)).toBe(kept);
    }
  });

  it('answers with the acknowledgement envelope, and faults with an escaped reason', () => {
    expect(parseXml(outboundAck()).children[0].children[0]).toMatchObject({ ns: 'http://soap.sforce.com/2005/09/outbound', local: 'notificationsResponse', children: [{ local: 'Ack', text: 'true' }] });
    expect(soapFault('X', 'a <b> & c', true)).toContain('<faultstring>X: a &lt;b&gt; &amp; c</faultstring>');
  });
});

describe('Salesforce JSON', () => {
  it('accepts one sObject, a list, or {records}', () => {
    const rec = { attributes: { type: 'Contact' }, Id: '0035g00000Qx7Lm2Ab', MobilePhone: '139', SystemModstamp: '2026-11-20T08:00:00.000+0000' };
    for (const body of [rec, [rec], { records: [rec] }]) {
      expect(parseSalesforceJson(body, STREAMS).pages).toEqual([{ stream: 'contacts', records: [expect.objectContaining({ externalId: '0035g00000Qx7Lm2Ab' })] }]);
    }
    expect(codeOf(() => parseSalesforceJson({ records: [] }, STREAMS))).toBe(ErrorCode.WEBHOOK_BAD_PAYLOAD);
    expect(codeOf(() => parseSalesforceJson('x', STREAMS))).toBe(ErrorCode.WEBHOOK_BAD_PAYLOAD);
  });

  it('lays pushed fields over the stored record and skips a push older than it', () => {
    const stored = { version: '2026-11-20T08:00:00.000Z', payload: { attributes: { type: 'Account', url: 'u' }, Id: 'a', Name: 'old', Phone: '1' } };
    const newer = { externalId: 'a', version: '2026-11-20T09:00:00.000Z', payload: { attributes: { type: 'Account' }, Id: 'a', Name: 'new' } };
    expect(combineSalesforce(stored, newer)!.payload).toEqual({ attributes: { type: 'Account', url: 'u' }, Id: 'a', Name: 'new', Phone: '1' });
    expect(combineSalesforce(stored, { ...newer, version: '2026-11-20T07:00:00.000Z' })).toBeNull();
    expect(combineSalesforce(null, newer)).toBe(newer);
    // Without a version it cannot be newer than a stored record that has one.
    expect(combineSalesforce(stored, { ...newer, version: null })).toBeNull();
  });

  it('refuses a record that does not say how new it is (SystemModstamp, else LastModifiedDate), naming the field', () => {
    const rec = { attributes: { type: 'Account' }, Id: '0015g00000WbHk1AAF', Name: 'late retry' };
    const refusal = (body: unknown) => {
      try {
        parseSalesforceJson(body, STREAMS);
      } catch (e) {
        return { code: (e as WebhookError).code, field: (e as WebhookError).details.field, message: (e as Error).message };
      }
      return null;
    };
    expect(refusal([rec])).toMatchObject({ code: ErrorCode.WEBHOOK_BAD_PAYLOAD, field: 'records[0].SystemModstamp' });
    expect(refusal([{ ...rec, SystemModstamp: 'yesterday' }])!.message).toContain('SystemModstamp "yesterday" is not a date-time');
    expect(refusal([{ ...rec, LastModifiedDate: '2026-11-20T08:00:00.000Z' }])).toBeNull();
    expect(codeOf(() => parseOutboundMessage(parseXml(envelope(`<Notification><Id>04l1</Id><sObject xsi:type="sf:Account"><Id>0015g00000WbHk1AAF</Id></sObject></Notification>`)), STREAMS))).toBe(ErrorCode.WEBHOOK_BAD_PAYLOAD);
  });
});

describe('ThingsBoard REST API Call', () => {
  const headers = { 'x-tb-device-name': 'GA72H2305123456', 'x-tb-ts': '1795139820000' };

  it('reads a flat message, {ts, values} and lists of them, newest value per key', () => {
    const flat = parseThingsBoardPush(headers, { runCount: 1 }).pages[0].records[0];
    expect(flat.payload).toMatchObject({ serial: 'GA72H2305123456', serialField: 'name', timeseries: { runCount: { ts: 1795139820000, value: 1 } } });
    const list = parseThingsBoardPush(headers, [{ ts: 1795139820001, values: { runCount: 3 } }, { ts: 1795139820000, values: { runCount: 2 } }]).pages[0].records[0];
    expect((list.payload as any).timeseries.runCount).toEqual({ ts: 1795139820001, value: 3 });
    const attrs = parseThingsBoardPush({ ...headers, 'x-tb-kind': 'ATTRIBUTES_UPDATED' }, { active: false });
    expect(attrs.kind).toBe('thingsboard.attributes');
    expect(attrs.pages[0].records[0].payload).toMatchObject({ attributes: { active: false }, attributeTs: { active: 1795139820000 } });
  });

  it('refuses bodies and headers it cannot read', () => {
    expect(codeOf(() => parseThingsBoardPush(headers, {}))).toBe(ErrorCode.WEBHOOK_BAD_PAYLOAD);
    expect(codeOf(() => parseThingsBoardPush(headers, 'x'))).toBe(ErrorCode.WEBHOOK_BAD_PAYLOAD);
    expect(codeOf(() => parseThingsBoardPush({ ...headers, 'x-tb-kind': 'rpc' }, { a: 1 }))).toBe(ErrorCode.WEBHOOK_BAD_PAYLOAD);
    expect(codeOf(() => parseThingsBoardPush({ ...headers, 'x-tb-device-id': 'nope' }, { a: 1 }))).toBe(ErrorCode.WEBHOOK_BAD_PAYLOAD);
    expect(codeOf(() => parseThingsBoardPush({ ...headers, 'x-tb-ts': '12' }, { a: 1 }))).toBe(ErrorCode.WEBHOOK_BAD_PAYLOAD);
  });

  it('refuses values that do not say when they are from (no X-TB-Ts, no ts in the body), naming X-TB-Ts', () => {
    const undated = { 'x-tb-device-name': 'GA72H2305123456' };
    for (const body of [{ runCount: 1 }, { values: { runCount: 1 } }, [{ ts: 1795139820000, values: { a: 1 } }, { b: 2 }]]) {
      let err: WebhookError | undefined;
      try {
        parseThingsBoardPush(undated, body);
      } catch (e) {
        err = e as WebhookError;
      }
      expect(err).toMatchObject({ code: ErrorCode.WEBHOOK_BAD_PAYLOAD, details: { field: 'X-TB-Ts' } });
    }
    // Dated in the body: each entry its own time.
    expect((parseThingsBoardPush(undated, [{ ts: 1795139820000, values: { runCount: 2 } }]).pages[0].records[0].payload as any).timeseries.runCount).toEqual({ ts: 1795139820000, value: 2 });
  });

  it('keeps the stored serial and device, and each stored value that is newer', () => {
    const stored = { version: '200', payload: { serial: 'S-LABEL', serialField: 'label', device: { name: 'n' }, attributes: { active: true }, attributeTs: { active: 200 }, timeseries: { runCount: { ts: 200, value: 9 } } } };
    const push = { externalId: 'd', version: '100', payload: { serial: 'n', serialField: 'name', device: {}, attributes: { active: false }, attributeTs: { active: 100 }, timeseries: { runCount: { ts: 300, value: 10 }, other: { ts: 100, value: 1 } } } };
    expect(combineThingsBoard(stored, push)).toEqual({
      externalId: 'd', version: '200',
      payload: { serial: 'S-LABEL', serialField: 'label', device: { name: 'n' }, attributes: { active: true }, attributeTs: { active: 200 }, timeseries: { runCount: { ts: 300, value: 10 }, other: { ts: 100, value: 1 } } },
    });
  });
});

describe('webhook config section', () => {
  const yaml = (webhook: string, sandbox = false) => `
connectors:
  - name: crm
    type: salesforce
    baseUrl: https://acme.my.salesforce.test
    sandbox: ${sandbox}
    webhook:
${webhook}`;

  it('fills defaults and keeps references, never values', () => {
    const [entry] = parseConnectorsConfig(yaml('      mode: hmac-sha256\n      secret: { env: CRM_HOOK }\n      organizationIds: [00D5g000004XyZ1EAK]')).connectors;
    expect(entry.webhook).toEqual({
      mode: 'hmac-sha256', secret: { env: 'CRM_HOOK' }, signatureHeader: 'X-Junction-Signature', timestampHeader: 'X-Junction-Timestamp',
      tokenHeader: 'X-Junction-Token', eventIdHeader: 'X-Junction-Event-Id', toleranceSeconds: 300, maxBytes: 1048576, organizationIds: ['00D5g000004XyZ1'],
    });
  });

  it('reports every problem with its path, without echoing a literal secret', () => {
    let message = '';
    try {
      parseConnectorsConfig(yaml('      mode: md5\n      secret: hunter2-literal\n      maxBytes: 10\n      tokenHeader: "bad header"\n      extra: 1'));
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('connectors[0].webhook.mode');
    expect(message).toContain('connectors[0].webhook.secret');
    expect(message).toContain('connectors[0].webhook.maxBytes');
    expect(message).toContain('connectors[0].webhook.tokenHeader');
    expect(message).toContain('connectors[0].webhook.extra');
    expect(message).not.toContain('hunter2');
  });

  it('allows a literal secret only on a sandbox', () => {
    expect(() => parseConnectorsConfig(yaml('      mode: shared-secret\n      secret: { value: sandbox-secret-0123456789 }'))).toThrow(/only allowed with `sandbox: true`/);
    expect(parseConnectorsConfig(yaml('      mode: shared-secret\n      secret: { value: sandbox-secret-0123456789 }', true)).connectors[0].webhook?.secret).toEqual({ value: 'sandbox-secret-0123456789' });
  });
});
