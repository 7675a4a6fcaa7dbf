/**
 * The `devices` stream: one SourceRecord per ThingsBoard device, its payload the device as listed
 * plus the latest values of the configured attribute and time-series keys.
 *
 * ThingsBoard cannot list "devices changed since": the device list has no such filter, and a
 * device's telemetry changes without the device entity changing. So every run scans all devices
 * (paged, in ThingsBoard's default `id` order, which is unique and therefore gives stable offset
 * pages) and reads each device's latest values with bounded concurrency. The record's `version`
 * is the newest timestamp among those values; the pipeline skips records whose content did not
 * change. The cursor lets an interrupted scan resume and remembers the newest timestamp seen.
 * README.md explains the choice.
 *
 * `readMode: entityQuery` (default) reads a page's latest values with one Entity Data Query
 * (`POST /api/entitiesQuery/find`, the page's device ids as an entity list); `perDevice` makes two
 * calls per device (attributes, latest time series). Same records, same cursors.
 */
import { ConnectorError, isConnectorError, ReadOptions, SourcePage, SourceRecord, StreamDefinition } from '../../src/connectors';
import { KeySelection, TB_ATTRIBUTE_SCOPES, TbAttribute, TbAttributeScope, TbDevice, TbEntityData, TbEntityKey, TbEntityKeyType, TbTimeseries, TbTsValue, ThingsBoardClient, isUuid } from './client';

export type SerialField = 'name' | 'label' | `additionalInfo.${string}`;

export type DevicesReadMode = 'entityQuery' | 'perDevice';

export interface DevicesStreamSettings {
  /** How latest values are read: one Entity Data Query per page (default) or two calls per device. */
  readMode: DevicesReadMode;
  /** Devices per list page (each costs 1–2 more calls per device). Default 100. */
  pageSize: number;
  /** Where the serial number is written on the device. Default `name`. */
  serialField: SerialField;
  /** Scope the attribute keys are read from; `ANY` merges all three (newest wins). Default SERVER_SCOPE. */
  attributeScope: TbAttributeScope | 'ANY';
  /** Attribute keys to read; `'*'` = all; `[]` = skip the call. */
  attributeKeys: KeySelection;
  /** Latest time-series keys to read; `'*'` = all; `[]` = skip the call. */
  timeseriesKeys: KeySelection;
  /** Ask for typed time-series values instead of strings (ThingsBoard 3.3+). Default false. */
  useStrictDataTypes: boolean;
  /** Devices whose values are fetched at the same time. Default 4. */
  concurrency: number;
  /** Only devices whose name contains this (case-insensitive, ThingsBoard's `textSearch`). */
  textSearch?: string;
  /** Only devices of this device profile (ThingsBoard's `type`). */
  deviceType?: string;
  /** Read a customer's devices (`/api/customer/{id}/devices`) instead of the whole tenant's. */
  customerId?: string;
}

export const DEFAULT_DEVICES_SETTINGS: DevicesStreamSettings = {
  readMode: 'entityQuery',
  pageSize: 100,
  serialField: 'name',
  attributeScope: 'SERVER_SCOPE',
  attributeKeys: ['active', 'lastActivityTime'],
  timeseriesKeys: ['runCount', 'faultCodes', 'current_fw_version'],
  useStrictDataTypes: false,
  concurrency: 4,
};

const SETTING_KEYS = Object.keys(DEFAULT_DEVICES_SETTINGS).concat(['textSearch', 'deviceType', 'customerId']);
const KEY_NAME = /^[^,\s][^,]*$/;

/** Validates the `streams.devices` block of the config; every problem in one CONNECTOR_MISCONFIGURED. */
export function parseDevicesSettings(raw: Record<string, unknown>, connector: string): DevicesStreamSettings {
  const problems: string[] = [];
  const out: DevicesStreamSettings = { ...DEFAULT_DEVICES_SETTINGS };
  for (const [key, value] of Object.entries(raw)) {
    const at = `streams.devices.${key}`;
    if (!SETTING_KEYS.includes(key)) {
      problems.push(`${at}: unknown setting (allowed: ${SETTING_KEYS.join(', ')})`);
      continue;
    }
    if (value === undefined || value === null) continue;
    switch (key) {
      case 'pageSize':
      case 'concurrency': {
        const max = key === 'pageSize' ? 1000 : 32;
        if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) problems.push(`${at}: must be an integer from 1 to ${max}`);
        else out[key] = value;
        break;
      }
      case 'readMode':
        if (value === 'entityQuery' || value === 'perDevice') out.readMode = value;
        else problems.push(`${at}: must be entityQuery or perDevice`);
        break;
      case 'serialField':
        if (value === 'name' || value === 'label' || (typeof value === 'string' && /^additionalInfo\.[A-Za-z0-9_-]+$/.test(value))) out.serialField = value as SerialField;
        else problems.push(`${at}: must be name, label or additionalInfo.<key>`);
        break;
      case 'attributeScope':
        if (value === 'ANY' || TB_ATTRIBUTE_SCOPES.includes(value as TbAttributeScope)) out.attributeScope = value as TbAttributeScope | 'ANY';
        else problems.push(`${at}: must be SERVER_SCOPE, SHARED_SCOPE, CLIENT_SCOPE or ANY`);
        break;
      case 'attributeKeys':
      case 'timeseriesKeys':
        if (value === '*') out[key] = '*';
        else if (Array.isArray(value) && value.every((k) => typeof k === 'string' && KEY_NAME.test(k))) out[key] = [...new Set(value as string[])];
        else problems.push(`${at}: must be a list of key names (no commas) or '*'`);
        break;
      case 'useStrictDataTypes':
        if (typeof value === 'boolean') out.useStrictDataTypes = value;
        else problems.push(`${at}: must be true or false`);
        break;
      case 'textSearch':
      case 'deviceType':
        if (typeof value === 'string' && value.trim() !== '') out[key] = value;
        else problems.push(`${at}: must be a non-empty string`);
        break;
      case 'customerId':
        if (isUuid(value)) out.customerId = value.toLowerCase();
        else problems.push(`${at}: must be a ThingsBoard customer id (UUID)`);
        break;
    }
  }
  if (problems.length) {
    throw new ConnectorError({ connector, code: 'CONNECTOR_MISCONFIGURED', message: `connector ${connector}: ${problems.join('; ')}` });
  }
  return out;
}

/** What `devices` records carry as `payload` (the mapping's input). */
export interface DevicePayload {
  /** The serial as written in `serialField` (raw: the mapping normalizes it), null when empty. */
  serial: string | null;
  serialField: SerialField;
  /** The device exactly as ThingsBoard listed it. */
  device: TbDevice;
  /** Attribute key → value (typed as ThingsBoard stores it). */
  attributes: Record<string, unknown>;
  /** Attribute key → lastUpdateTs (epoch ms). */
  attributeTs: Record<string, number>;
  /** Time-series key → latest {ts, value} (value a string unless useStrictDataTypes). */
  timeseries: Record<string, { ts: number; value: unknown }>;
}

/** Opaque to the pipeline; JSON here. */
interface Cursor {
  v: 1;
  /** Mid-scan: the offset (`page` × `size`) to read next. Absent: the last scan finished. */
  page?: number;
  size?: number;
  /** Mid-scan, when the pages came in id order: the last device id handed out. */
  after?: string;
  /** Newest value timestamp seen (epoch ms): freshness for the run log, never a filter. */
  hw: number;
}

export function decodeCursor(cursor: string | null): Cursor {
  if (!cursor) return { v: 1, hw: 0 };
  try {
    const c = JSON.parse(cursor) as Partial<Cursor>;
    if (c && c.v === 1 && typeof c.hw === 'number' && Number.isFinite(c.hw)) {
      const mid = Number.isInteger(c.page) && (c.page as number) >= 0 && Number.isInteger(c.size) && (c.size as number) >= 1;
      if (!mid) return { v: 1, hw: c.hw };
      return { v: 1, page: c.page, size: c.size, ...(isUuid(c.after) ? { after: c.after.toLowerCase() } : {}), hw: c.hw };
    }
  } catch {
    // fall through
  }
  // Not ours (another version): a full scan is always correct for this stream, so start over.
  return { v: 1, hw: 0 };
}

function encodeCursor(c: Cursor): string {
  return JSON.stringify(c);
}

export interface DevicesStreamDeps {
  connector: string;
  client: ThingsBoardClient;
  settings: DevicesStreamSettings;
}

export function devicesStream({ connector, client, settings }: DevicesStreamDeps): StreamDefinition {
  return {
    name: 'devices',
    entity: 'telemetry',
    read: (cursor, opts) => readDevices(connector, client, settings, cursor, opts),
  };
}

async function* readDevices(
  connector: string,
  client: ThingsBoardClient,
  settings: DevicesStreamSettings,
  cursor: string | null,
  opts: ReadOptions = {},
): AsyncGenerator<SourcePage> {
  const start = decodeCursor(cursor);
  const pageSize = Math.max(1, Math.min(1000, Math.floor(opts.pageSize ?? settings.pageSize)));
  const signal = opts.signal;
  let hw = start.hw;
  // Resuming: from the same offset, one page earlier (devices deleted since may have shifted
  // the rest left), skipping what was already handed out (ids up to `after`, in id order).
  let page = start.page !== undefined ? Math.max(0, Math.floor((start.page * (start.size ?? pageSize)) / pageSize) - 1) : 0;
  let after = start.after;
  // Do the pages come in ascending id order (ThingsBoard's default)? Only then does `after` mean anything.
  let idOrder = true;
  let lastId: string | undefined;
  const seen = new Set<string>();
  const listPath = settings.customerId ? `/api/customer/${settings.customerId}/devices` : '/api/tenant/devices';

  for (;;) {
    const res = await client.devicesPage(
      { pageSize, page, textSearch: settings.textSearch, type: settings.deviceType, customerId: settings.customerId },
      { signal },
    );
    const ids = res.data.map((d) => d.id.id.toLowerCase());
    if (ids.length === 0) {
      // Offset paging: nothing at this offset means nothing beyond it, whatever hasNext says.
      yield { records: [], cursor: encodeCursor({ v: 1, hw }), hasMore: false };
      return;
    }
    const unseen = ids.filter((id) => !seen.has(id));
    if (unseen.length === 0) {
      throw new ConnectorError({
        connector,
        code: 'CONNECTOR_BAD_RESPONSE',
        method: 'GET',
        path: listPath,
        message:
          `${connector}: all ${ids.length} devices on device list page ${page} were already read in this scan; ` +
          `the server (or a proxy) seems to ignore the page parameter, so the scan stops instead of looping`,
      });
    }
    const ascending = ids.every((id, i) => i === 0 || ids[i - 1] < id) && (lastId === undefined || unseen[0] > lastId);
    if (!ascending) {
      idOrder = false;
      after = undefined;
    }
    const fresh = res.data.filter((_, i) => !seen.has(ids[i]) && (after === undefined || ids[i] > after));
    for (const id of ids) seen.add(id);
    lastId = ids[ids.length - 1];

    const records = (await readValues(client, settings, fresh, signal)).filter((r): r is SourceRecord => r !== null);
    for (const r of records) hw = Math.max(hw, Number(r.version ?? 0));

    if (!res.hasNext) {
      yield { records, cursor: encodeCursor({ v: 1, hw }), hasMore: false };
      return;
    }
    page++;
    const resumeAfter = idOrder ? (after !== undefined && after > lastId ? after : lastId) : undefined;
    yield { records, cursor: encodeCursor({ v: 1, page, size: pageSize, ...(resumeAfter ? { after: resumeAfter } : {}), hw }), hasMore: true };
  }
}

/** The records of a page's devices (null for one deleted after it was listed), in list order. */
function readValues(client: ThingsBoardClient, settings: DevicesStreamSettings, devices: TbDevice[], signal?: AbortSignal): Promise<Array<SourceRecord | null>> {
  // An entity query names its keys: "all keys" ('*') needs the per-device calls.
  if (settings.readMode === 'entityQuery' && settings.attributeKeys !== '*' && settings.timeseriesKeys !== '*') {
    return readByEntityQuery(client, settings, devices, settings.attributeKeys, settings.timeseriesKeys, signal);
  }
  return mapLimit(devices, settings.concurrency, signal, (d) => readDevice(client, settings, d, signal));
}

const SCOPE_KEY_TYPE: Record<TbAttributeScope, TbEntityKeyType> = { CLIENT_SCOPE: 'CLIENT_ATTRIBUTE', SERVER_SCOPE: 'SERVER_ATTRIBUTE', SHARED_SCOPE: 'SHARED_ATTRIBUTE' };
/** The order the unscoped attributes endpoint lists scopes in (ties between scopes keep the first). */
const ANY_SCOPES: TbAttributeScope[] = ['CLIENT_SCOPE', 'SERVER_SCOPE', 'SHARED_SCOPE'];

/**
 * An Entity Data Query answers every value as a string; attributes are typed in ThingsBoard (and
 * in the per-device answer): `true`/`false`, numbers and JSON objects/arrays are read back as such.
 * A text attribute that reads as one of those comes back typed (the query cannot tell them apart).
 */
export function typedValue(s: unknown): unknown {
  if (typeof s !== 'string') return s;
  if (s === 'true') return true;
  if (s === 'false') return false;
  if (/^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/.test(s)) {
    const n = Number(s);
    if (Number.isFinite(n) && String(n) === s) return n;
  }
  if ((s.startsWith('{') && s.endsWith('}')) || (s.startsWith('[') && s.endsWith(']'))) {
    try {
      return JSON.parse(s) as unknown;
    } catch {
      return s;
    }
  }
  return s;
}

/** A page's latest values with one `POST /api/entitiesQuery/find` (the devices as an entity list). */
async function readByEntityQuery(
  client: ThingsBoardClient,
  settings: DevicesStreamSettings,
  devices: TbDevice[],
  attributeKeys: readonly string[],
  timeseriesKeys: readonly string[],
  signal?: AbortSignal,
): Promise<Array<SourceRecord | null>> {
  if (devices.length === 0) return [];
  const scopes = settings.attributeScope === 'ANY' ? ANY_SCOPES : [settings.attributeScope];
  const latestValues: TbEntityKey[] = [
    ...scopes.flatMap((scope) => attributeKeys.map((key) => ({ type: SCOPE_KEY_TYPE[scope], key }))),
    ...timeseriesKeys.map((key) => ({ type: 'TIME_SERIES' as const, key })),
  ];
  const latest = new Map<string, NonNullable<TbEntityData['latest']>>();
  if (latestValues.length > 0) {
    const ids = devices.map((d) => d.id.id.toLowerCase());
    const res = await client.findEntityData(
      {
        entityFilter: { type: 'entityList', entityType: 'DEVICE', entityList: ids },
        pageLink: { pageSize: ids.length, page: 0 },
        entityFields: [],
        latestValues,
        keyFilters: [],
      },
      { signal },
    );
    if (res.hasNext) {
      throw new ConnectorError({
        connector: client.connector,
        code: 'CONNECTOR_BAD_RESPONSE',
        method: 'POST',
        path: '/api/entitiesQuery/find',
        message: `${client.connector}: the entity query for ${ids.length} devices answered more than one page (hasNext); the server ignored pageSize`,
      });
    }
    for (const e of res.data) latest.set(e.entityId.id.toLowerCase(), e.latest ?? {});
  }
  return devices.map((device) => {
    const values = latest.get(device.id.id.toLowerCase());
    // Not in the answer: deleted after it was listed (as a 404 is in the per-device mode).
    if (latestValues.length > 0 && !values) return null;
    const present = (v: TbTsValue | undefined): v is TbTsValue => v !== undefined && !(v.ts === 0 && v.value === '');
    const attributes: TbAttribute[] = [];
    for (const scope of scopes) {
      const byKey = values?.[SCOPE_KEY_TYPE[scope]] ?? {};
      for (const key of attributeKeys) {
        const v = byKey[key];
        if (present(v)) attributes.push({ key, value: typedValue(v.value), lastUpdateTs: v.ts });
      }
    }
    const timeseries: TbTimeseries = {};
    for (const key of timeseriesKeys) {
      const v = values?.TIME_SERIES?.[key];
      if (present(v)) timeseries[key] = [{ ts: v.ts, value: settings.useStrictDataTypes ? typedValue(v.value) : v.value }];
    }
    return recordOf(device, buildPayload(device, settings.serialField, attributes, timeseries));
  });
}

/** One device's record, or null when the device was deleted after it was listed. */
async function readDevice(client: ThingsBoardClient, settings: DevicesStreamSettings, device: TbDevice, signal?: AbortSignal): Promise<SourceRecord | null> {
  const id = device.id.id.toLowerCase();
  let attributes: TbAttribute[];
  let timeseries: TbTimeseries;
  try {
    // One after the other: `concurrency` devices in flight means `concurrency` requests in flight.
    attributes = await client.attributes(id, settings.attributeScope, settings.attributeKeys, { signal });
    timeseries = await client.latestTimeseries(id, settings.timeseriesKeys, { signal, useStrictDataTypes: settings.useStrictDataTypes });
  } catch (err) {
    // Deleted after it was listed: the next scan will not list it. Only ThingsBoard's own "not
    // found" counts; a proxy's 404 page (say, /api/plugins blocked) must fail loudly, not empty the run.
    if (isConnectorError(err) && err.status === 404 && err.vendorErrors?.some((e) => e.code === 'ITEM_NOT_FOUND')) return null;
    throw err;
  }
  return recordOf(device, buildPayload(device, settings.serialField, attributes, timeseries));
}

function recordOf(device: TbDevice, payload: DevicePayload): SourceRecord {
  const id = device.id.id.toLowerCase();
  const newest = Math.max(
    typeof device.createdTime === 'number' ? device.createdTime : 0,
    ...Object.values(payload.attributeTs),
    ...Object.values(payload.timeseries).map((v) => v.ts),
  );
  return {
    externalId: id,
    version: newest > 0 ? String(newest) : null,
    updatedAt: newest > 0 ? new Date(newest).toISOString() : null,
    payload,
  };
}

export function buildPayload(device: TbDevice, serialField: SerialField, attributes: TbAttribute[], timeseries: TbTimeseries): DevicePayload {
  const attrs: Record<string, unknown> = {};
  const attrTs: Record<string, number> = {};
  for (const a of attributes) {
    // The unscoped endpoint may list one key per scope: keep the newest.
    if (attrTs[a.key] === undefined || a.lastUpdateTs > attrTs[a.key]) {
      attrs[a.key] = a.value;
      attrTs[a.key] = a.lastUpdateTs;
    }
  }
  const ts: Record<string, { ts: number; value: unknown }> = {};
  for (const [key, values] of Object.entries(timeseries)) {
    // A requested key without data comes back as [{ts: <server now>, value: null}]: no value, and
    // that ts must not count as a change.
    const latest = values.find((v) => v.value !== null && v.value !== undefined);
    if (latest) ts[key] = { ts: latest.ts, value: latest.value };
  }
  return { serial: serialOf(device, serialField), serialField, device, attributes: attrs, attributeTs: attrTs, timeseries: ts };
}

function serialOf(device: TbDevice, field: SerialField): string | null {
  let v: unknown;
  if (field === 'name' || field === 'label') v = device[field];
  else {
    const info = device.additionalInfo;
    v = info && typeof info === 'object' ? (info as Record<string, unknown>)[field.slice('additionalInfo.'.length)] : undefined;
  }
  if (typeof v === 'number') v = String(v);
  return typeof v === 'string' && v.trim() !== '' ? v : null;
}

/**
 * `fn` over `items` with at most `limit` running at once, results in input order. After the first
 * failure no new item starts; it waits for the running ones, then throws that first error (so no
 * request is left running behind the caller's back).
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, signal: AbortSignal | undefined, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      if (signal?.aborted) {
        failure = { error: signal.reason ?? new DOMException('This operation was aborted', 'AbortError') };
        return;
      }
      const i = next++;
      try {
        results[i] = await fn(items[i]);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  if (failure) throw failure.error;
  return results;
}
