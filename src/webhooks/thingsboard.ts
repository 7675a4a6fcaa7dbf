/**
 * ThingsBoard pushes: the rule engine's "REST API Call" node POSTs the message data (the JSON a
 * device posted: `{"runCount": 7012, "faultCodes": "E1"}`, or `{"ts": …, "values": {…}}`, or a list
 * of those) and the headers its configuration names, whose values may be templates of the
 * message metadata (`${metadata.deviceName}`, `${metadata.ts}`):
 *
 *   X-TB-Device-Name  the device's name (required)           X-TB-Device-Id  its id (UUID, recommended)
 *   X-TB-Kind         telemetry (default) or attributes      X-TB-Ts         epoch ms of the values (required
 *                                                                            unless every entry is {ts, values})
 *
 * The values land in the payload the pull stream (`devices`) stores for the device —
 * `{serial, serialField, device, attributes, attributeTs, timeseries}` — laid over what is stored,
 * each key kept only if newer than the stored one, so the same mapping applies and a late push
 * never rolls a value back. A value nothing dates is refused: stamped with its arrival time, a
 * late retry would pass for the newest value.
 */
import type { SourceRecord } from '../connectors';
import { ErrorCode } from '../errors/codes';
import type { CombinePayload } from '../sync/pipeline';
import { webhookError } from './errors';
import { isObject, PushBatch } from './push';

export const TB_HEADERS = { deviceName: 'x-tb-device-name', deviceId: 'x-tb-device-id', kind: 'x-tb-kind', ts: 'x-tb-ts', deviceType: 'x-tb-device-type' };

/**
 * A pushed device nothing names the ThingsBoard id of (no X-TB-Device-Id, no pulled record of its
 * name) is keyed `name:<device name>`. That is no device id: ThingsBoard's API takes UUIDs only,
 * so such a record's links are never write-back targets (writeback/outbox.ts), and a lookup by
 * name prefers the pulled record (service.ts).
 */
export const NAME_KEYED_PREFIX = 'name:';
export const isNameKeyed = (externalId: string) => externalId.startsWith(NAME_KEYED_PREFIX);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const KINDS: Record<string, 'telemetry' | 'attributes'> = {
  telemetry: 'telemetry', POST_TELEMETRY_REQUEST: 'telemetry',
  attributes: 'attributes', POST_ATTRIBUTES_REQUEST: 'attributes', ATTRIBUTES_UPDATED: 'attributes',
};
const KEY = /^[^\s,][^,]{0,127}$/;

const bad = (message: string, field?: string) => webhookError(ErrorCode.WEBHOOK_BAD_PAYLOAD, message, field ? { field } : {});

export interface DeviceHeaders {
  name: string;
  id: string | null;
  kind: 'telemetry' | 'attributes';
  /** X-TB-Ts; null when absent (the body's entries must then carry their own). */
  ts: number | null;
  type: string | null;
}

/** Reads the X-TB-* headers; WEBHOOK_BAD_PAYLOAD naming the header at fault. */
export function readDeviceHeaders(headers: Record<string, string | undefined>): DeviceHeaders {
  const name = headers[TB_HEADERS.deviceName]?.trim();
  if (!name) throw bad('Missing X-TB-Device-Name: set it to ${metadata.deviceName} in the REST API Call node', 'X-TB-Device-Name');
  const id = headers[TB_HEADERS.deviceId]?.trim() || null;
  if (id !== null && !UUID.test(id)) throw bad('X-TB-Device-Id must be the device id (a UUID)', 'X-TB-Device-Id');
  const rawKind = headers[TB_HEADERS.kind]?.trim() || 'telemetry';
  const kind = KINDS[rawKind];
  if (!kind) throw bad(`X-TB-Kind must be telemetry or attributes (or POST_TELEMETRY_REQUEST, POST_ATTRIBUTES_REQUEST, ATTRIBUTES_UPDATED), got ${JSON.stringify(rawKind.slice(0, 40))}`, 'X-TB-Kind');
  const rawTs = headers[TB_HEADERS.ts]?.trim();
  const ts = rawTs ? Number(rawTs) : null;
  if (ts !== null && (!Number.isInteger(ts) || ts < 1e12 || ts > 1e14)) throw bad('X-TB-Ts must be epoch milliseconds', 'X-TB-Ts');
  return { name, id: id?.toLowerCase() ?? null, kind, ts, type: headers[TB_HEADERS.deviceType]?.trim() || null };
}

/** The values of a message body, key → {ts, value}; `defaultTs` (X-TB-Ts) dates entries without their own. */
export function readValues(body: unknown, defaultTs: number | null): Map<string, { ts: number; value: unknown }> {
  const entries = Array.isArray(body) ? body : [body];
  if (!entries.length) throw bad('The body holds no values');
  const out = new Map<string, { ts: number; value: unknown }>();
  entries.forEach((e, i) => {
    const where = Array.isArray(body) ? `[${i}]` : 'body';
    if (!isObject(e)) throw bad(`${where} must be an object of key: value (a ThingsBoard message's data)`, where);
    const timed = isObject(e.values) && (typeof e.ts === 'number' || Object.keys(e).length === 1);
    const ts = timed && typeof e.ts === 'number' ? e.ts : defaultTs;
    if (ts === null) throw bad(`${where} does not say when its values are from: send X-TB-Ts: \${metadata.ts} in the REST API Call node, or {"ts": <epoch ms>, "values": {…}}`, 'X-TB-Ts');
    if (!Number.isInteger(ts) || ts < 1e12 || ts > 1e14) throw bad(`${where}.ts must be epoch milliseconds`, `${where}.ts`);
    const values = timed ? (e.values as Record<string, unknown>) : e;
    for (const [key, value] of Object.entries(values)) {
      if (!KEY.test(key) || key === '__proto__') throw bad(`${where}: ${JSON.stringify(key.slice(0, 40))} is not a key name`, where);
      if (value === undefined) continue;
      const prev = out.get(key);
      if (!prev || ts >= prev.ts) out.set(key, { ts, value });
    }
  });
  if (!out.size) throw bad('The body holds no values');
  return out;
}

/**
 * One device record from a REST API Call node's request. Its external id is the X-TB-Device-Id
 * header, or empty: the service then finds the id the pull stream stored for the device's name.
 */
export function parseThingsBoardPush(headers: Record<string, string | undefined>, body: unknown): PushBatch {
  const h = readDeviceHeaders(headers);
  const values = readValues(body, h.ts);
  const attributes: Record<string, unknown> = {};
  const attributeTs: Record<string, number> = {};
  const timeseries: Record<string, { ts: number; value: unknown }> = {};
  let newest = 0;
  for (const [key, v] of values) {
    if (h.kind === 'attributes') {
      attributes[key] = v.value;
      attributeTs[key] = v.ts;
    } else timeseries[key] = v;
    newest = Math.max(newest, v.ts);
  }
  const externalId = h.id ?? '';
  const device: Record<string, unknown> = { id: { entityType: 'DEVICE', id: externalId }, name: h.name, ...(h.type ? { type: h.type } : {}) };
  const record: SourceRecord = {
    externalId,
    version: String(newest),
    updatedAt: new Date(newest).toISOString(),
    payload: { serial: h.name, serialField: 'name', device, attributes, attributeTs, timeseries },
  };
  return { kind: `thingsboard.${h.kind}`, pages: [{ stream: 'devices', records: [record] }], combine: combineThingsBoard };
}

/** Lays pushed values over the stored device payload, each key only if newer; the stored serial and device stay. */
export const combineThingsBoard: CombinePayload = (stored, incoming) => {
  if (!stored || !isObject(stored.payload)) return incoming;
  const s = stored.payload as Record<string, any>;
  const p = incoming.payload as Record<string, any>;
  const attributes = { ...(s.attributes ?? {}) };
  const attributeTs: Record<string, number> = { ...(s.attributeTs ?? {}) };
  const timeseries: Record<string, { ts: number; value: unknown }> = { ...(s.timeseries ?? {}) };
  for (const [key, value] of Object.entries(p.attributes as Record<string, unknown>)) {
    const ts = p.attributeTs[key] as number;
    if (attributeTs[key] === undefined || ts >= attributeTs[key]) {
      attributes[key] = value;
      attributeTs[key] = ts;
    }
  }
  for (const [key, v] of Object.entries(p.timeseries as Record<string, { ts: number; value: unknown }>)) {
    if (!timeseries[key] || v.ts >= timeseries[key].ts) timeseries[key] = v;
  }
  const newest = Math.max(Number(stored.version ?? 0) || 0, Number(incoming.version ?? 0) || 0);
  return {
    ...incoming,
    version: String(newest),
    payload: { ...s, attributes, attributeTs, timeseries },
  };
};
