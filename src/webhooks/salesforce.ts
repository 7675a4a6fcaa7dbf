/**
 * Salesforce pushes, two shapes:
 *
 * - Outbound Messages (workflow / flow "Send Outbound Message"): a SOAP 1.1 `notifications` call,
 *   up to 100 `Notification`s of one sObject type, each `{Id (the notification's), sObject
 *   xsi:type="sf:Account" {the selected fields}}`. Salesforce resends until it gets the
 *   `notificationsResponse` with `Ack` true, and may deliver a notification more than once.
 * - Apex / Flow HTTP callouts with a JSON body: a serialized sObject (`JSON.serialize(record)`:
 *   `{attributes: {type}, Id, ...}`), a list of them, or `{records: [...]}`.
 *
 * Each record becomes the payload the pull stream (connectors/salesforce) stores for it — the REST
 * shape `{attributes: {type, url}, Id, Field: value}` — so the same mappings apply. A push carries
 * only the fields its sender selected, so it is laid over the stored payload (`combineSalesforce`),
 * and a push older than what is stored (SystemModstamp) is skipped. A record that does not say how
 * new it is (no SystemModstamp nor LastModifiedDate) is refused: taken as the newest, a late
 * retry would overwrite newer data.
 */
import type { SourceRecord } from '../connectors';
import { parseSalesforceDateTime } from '../../connectors/salesforce/streams';
import { ErrorCode } from '../errors/codes';
import type { CombinePayload } from '../sync/pipeline';
import { webhookError } from './errors';
import { inStreamOrder, isObject, PushBatch } from './push';
import { childNamed, childrenNamed, escapeXml, localPart, XmlElement, XSI } from './xml';

export const SOAP_ENV = 'http://schemas.xmlsoap.org/soap/envelope/';
export const OUTBOUND_NS = 'http://soap.sforce.com/2005/09/outbound';

/** sObject type → the stream whose mapping applies. */
export const SOBJECT_STREAMS: Record<string, string> = { Account: 'accounts', Contact: 'contacts', Case: 'cases' };

const RECORD_ID = /^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$/;
/** Salesforce's own boolean fields (IsClosed, IsDeleted, HasOptedOutOfEmail): SOAP sends them as text. */
const BOOLEAN_FIELD = /^(Is|Has)[A-Z]/;

const bad = (message: string, field?: string) => webhookError(ErrorCode.WEBHOOK_BAD_PAYLOAD, message, field ? { field } : {});

export interface OutboundMessage {
  organizationId: string;
  batch: PushBatch;
}

/** Reads a parsed SOAP envelope; WEBHOOK_BAD_PAYLOAD naming the element or notification at fault. */
export function parseOutboundMessage(root: XmlElement, streams: string[]): OutboundMessage {
  if (root.local !== 'Envelope' || root.ns !== SOAP_ENV) throw bad(`Expected a SOAP 1.1 Envelope (${SOAP_ENV}), got <${root.local}>`, 'Envelope');
  const body = childNamed(root, 'Body', SOAP_ENV);
  const notifications = body && childNamed(body, 'notifications', OUTBOUND_NS);
  if (!notifications) throw bad(`The SOAP Body holds no <notifications xmlns="${OUTBOUND_NS}"> (a Salesforce Outbound Message)`, 'Body.notifications');
  const organizationId = childNamed(notifications, 'OrganizationId', OUTBOUND_NS)?.text.trim() ?? '';
  if (!organizationId) throw bad('The outbound message has no OrganizationId', 'notifications.OrganizationId');
  const list = childrenNamed(notifications, 'Notification', OUTBOUND_NS);
  if (!list.length) throw bad('The outbound message has no Notification', 'notifications.Notification');

  const pages = new Map<string, SourceRecord[]>();
  const deliveryIds: string[] = [];
  list.forEach((n, i) => {
    const where = `Notification[${i}]`;
    const id = childNamed(n, 'Id', OUTBOUND_NS)?.text.trim();
    if (!id) throw bad(`${where} has no Id`, `${where}.Id`);
    deliveryIds.push(id);
    const sobject = childNamed(n, 'sObject', OUTBOUND_NS);
    if (!sobject) throw bad(`${where} (${id}) has no sObject`, `${where}.sObject`);
    const xsiType = sobject.attrs[`{${XSI}}type`];
    if (!xsiType) throw bad(`${where} (${id}): sObject has no xsi:type naming its object`, `${where}.sObject`);
    const fields = readFields(sobject);
    add(pages, localPart(xsiType), fields, `${where} (${id})`, streams);
  });
  return { organizationId, batch: { kind: 'salesforce.outbound-message', pages: inStreamOrder(pages, streams), deliveryIds, combine: combineSalesforce } };
}

/** A JSON body of serialized sObjects. */
export function parseSalesforceJson(body: unknown, streams: string[]): PushBatch {
  const list = Array.isArray(body) ? body
    : isObject(body) && Array.isArray(body.records) ? body.records
    : isObject(body) && isObject(body.attributes) ? [body]
    : null;
  if (!list) throw bad('Expected a serialized sObject ({"attributes": {"type": …}, "Id": …}), a list of them, or {"records": [...]}');
  if (!list.length) throw bad('The body holds no records', 'records');
  const pages = new Map<string, SourceRecord[]>();
  list.forEach((r: unknown, i: number) => {
    const where = `records[${i}]`;
    if (!isObject(r) || !isObject(r.attributes) || typeof r.attributes.type !== 'string') throw bad(`${where} is not a serialized sObject: it needs "attributes": {"type": "Account"|"Contact"|"Case"}`, `${where}.attributes.type`);
    add(pages, r.attributes.type, r, where, streams);
  });
  return { kind: 'salesforce.json', pages: inStreamOrder(pages, streams), combine: combineSalesforce };
}

function add(pages: Map<string, SourceRecord[]>, type: string, fields: Record<string, unknown>, where: string, streams: string[]) {
  const stream = SOBJECT_STREAMS[type];
  if (!stream) throw bad(`${where}: sObject type ${type} is not pushed to Junction (accepted: ${Object.keys(SOBJECT_STREAMS).join(', ')})`, `${where}.type`);
  if (!streams.includes(stream)) throw bad(`${where}: stream ${stream} (${type}) is not enabled on this connector`, `${where}.type`);
  const id = fields.Id;
  if (typeof id !== 'string' || !RECORD_ID.test(id)) throw bad(`${where}: ${type} without a valid Id (15 or 18 characters)`, `${where}.Id`);
  const { attributes: _ignored, ...rest } = fields;
  const payload = { attributes: { type, url: `/services/data/v59.0/sobjects/${type}/${id}` }, ...rest };
  const stampField = fields.SystemModstamp != null ? 'SystemModstamp' : fields.LastModifiedDate != null ? 'LastModifiedDate' : null;
  if (!stampField) throw bad(`${where}: ${type} ${id} has no SystemModstamp (nor LastModifiedDate): Junction cannot tell a late delivery from a newer one without it; select SystemModstamp in the outbound message, or send the record with it`, `${where}.SystemModstamp`);
  const modstamp = parseSalesforceDateTime(fields[stampField]);
  if (modstamp === undefined) throw bad(`${where}: ${type} ${id}: ${stampField} ${JSON.stringify(String(fields[stampField]).slice(0, 40))} is not a date-time`, `${where}.${stampField}`);
  const iso = new Date(modstamp).toISOString();
  const records = pages.get(stream) ?? [];
  records.push({ externalId: id, version: iso, updatedAt: iso, payload });
  pages.set(stream, records);
}

/** sObject fields: `xsi:nil` → null, Is…/Has… "true"/"false" → booleans, nested elements → objects. */
function readFields(el: XmlElement): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of el.children) {
    if (c.local === '__proto__' || c.local === 'constructor' || c.local === 'prototype') continue;
    if (c.attrs[`{${XSI}}nil`] === 'true') out[c.local] = null;
    else if (c.children.length) out[c.local] = readFields(c);
    else if (BOOLEAN_FIELD.test(c.local) && (c.text === 'true' || c.text === 'false')) out[c.local] = c.text === 'true';
    else out[c.local] = c.text;
  }
  return out;
}

/**
 * Lays the pushed fields over the stored record; skips a push older than it (SystemModstamp), and
 * one without a version over a stored record that has one (the parsers refuse those already).
 */
export const combineSalesforce: CombinePayload = (stored, incoming) => {
  if (!stored || !isObject(stored.payload)) return incoming;
  const before = parseSalesforceDateTime(stored.version ?? undefined) ?? Date.parse(stored.version ?? '');
  const now = parseSalesforceDateTime(incoming.version ?? undefined) ?? Date.parse(incoming.version ?? '');
  if (Number.isFinite(before) && !(Number.isFinite(now) && now >= before)) return null;
  const pushed = incoming.payload as Record<string, unknown>;
  const attributes = { ...(isObject(stored.payload.attributes) ? stored.payload.attributes : {}), ...(pushed.attributes as object) };
  return { ...incoming, version: incoming.version ?? stored.version, payload: { ...stored.payload, ...pushed, attributes } };
};

const SESSION_ID = /(<(?:[A-Za-z_][\w.-]*:)?SessionId(?:\s[^>]*)?(?<!\/)>)([\s\S]*?)(?=<\/(?:[A-Za-z_][\w.-]*:)?SessionId\s*>|$)/gi;

/**
 * The body with each `<SessionId>`'s content replaced by `[redacted]`. With "Send Session ID" an
 * outbound message carries a live API session (a bearer token for the org): it is neither read nor
 * stored, nor shown to admins. Text, not the parsed tree, so a malformed body is redacted too
 * (an unclosed one to its end) and the rest stays as received.
 */
export function redactSessionId(text: string): string {
  return text.replace(SESSION_ID, (all, open: string, content: string) => (content.trim() ? `${open}[redacted]` : all));
}

/** The acknowledgement Salesforce waits for; without it the message is sent again. */
export function outboundAck(ack = true): string {
  return '<?xml version="1.0" encoding="UTF-8"?>\n'
    + `<soapenv:Envelope xmlns:soapenv="${SOAP_ENV}"><soapenv:Body>`
    + `<notificationsResponse xmlns="${OUTBOUND_NS}"><Ack>${ack}</Ack></notificationsResponse>`
    + '</soapenv:Body></soapenv:Envelope>\n';
}

/** A SOAP 1.1 fault: Salesforce keeps the message and retries (the reason shows in its delivery status). */
export function soapFault(code: string, message: string, client: boolean): string {
  return '<?xml version="1.0" encoding="UTF-8"?>\n'
    + `<soapenv:Envelope xmlns:soapenv="${SOAP_ENV}"><soapenv:Body><soapenv:Fault>`
    + `<faultcode>soapenv:${client ? 'Client' : 'Server'}</faultcode><faultstring>${escapeXml(`${code}: ${message}`)}</faultstring>`
    + `<detail><code>${escapeXml(code)}</code></detail>`
    + '</soapenv:Fault></soapenv:Body></soapenv:Envelope>\n';
}
