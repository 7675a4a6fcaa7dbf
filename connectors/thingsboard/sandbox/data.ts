/**
 * The ThingsBoard tenant the sandbox serves, derived from the demo data set (src/demo/dataset.ts)
 * so that IoT agrees with the demo CRM/ERP where it should and disagrees where the demo wants it:
 *
 * - every demo device with an IoT id (`iotId`) is a ThingsBoard device with that id; its name is
 *   the serial, written as people type it (sometimes lower case, sometimes with spaces), its
 *   latest values are the demo telemetry (online, last seen, run count, alerts) and firmware;
 * - one device reports to ThingsBoard that the ERP never sold (its serial is in no demo record);
 * - one device reports a firmware that differs from its ERP record (upgraded over the air);
 * - one bench-test device was provisioned but never sent anything (no time series at all).
 *
 * `scale: N` adds N synthetic devices (load tests). Everything is deterministic: same options,
 * deep-equal data.
 */
import { DemoRng, DemoDevice, generateDemoDataset, DEMO_SEED } from '../../../src/demo/dataset';
import { normalizeSerial } from '../../../src/identity/normalize';
import type { TbAttributeScope, TbDevice } from '../client';
import { TB_NULL_UUID } from '../client';

export interface SandboxValue {
  value: unknown;
  /** lastUpdateTs (attributes) / ts (time series), epoch ms. */
  ts: number;
}

export interface SandboxDevice {
  /** Served as listed by `GET /api/tenant/devices`. */
  device: TbDevice;
  /** Normalized serial this device stands for (what a correct mapping must produce); null for none. */
  serial: string | null;
  attributes: Record<TbAttributeScope, Record<string, SandboxValue>>;
  /** Latest value per time-series key, typed (served as strings unless useStrictDataTypes). */
  timeseries: Record<string, SandboxValue>;
}

export interface SandboxUser {
  username: string;
  password: string;
  authority: 'TENANT_ADMIN' | 'CUSTOMER_USER';
  userId: string;
  customerId: string;
  firstName?: string;
}

export interface ThingsBoardSandboxData {
  tenantId: string;
  /** The customer the air conditioners are assigned to (`/api/customer/{id}/devices`). */
  customerId: string;
  users: SandboxUser[];
  devices: SandboxDevice[];
  /** The demo's deliberate disagreements, for tests and the demo script. */
  story: {
    unsold: { id: string; serial: string };
    firmwareMismatch: { id: string; serial: string; erpFirmware: string; iotFirmware: string };
    silent: { id: string; name: string };
  };
}

export interface BuildOptions {
  /** Extra synthetic devices. Default 0. */
  scale?: number;
  /** Demo data set seed. Default DEMO_SEED. */
  seed?: number;
}

export const SANDBOX_TENANT_ID = '3c5d8f40-6a1b-11ef-8e0c-5b1f3a2d7c10';
export const SANDBOX_CUSTOMER_ID = '4a7e9b20-6a1b-11ef-8e0c-5b1f3a2d7c10';
/** ThingsBoard's own demo tenant login; sandbox only. */
export const SANDBOX_USERNAME = 'tenant@thingsboard.org';
export const SANDBOX_PASSWORD = 'tenant';

/** Device profile names (ThingsBoard's `type`). */
const TYPE = { AC: 'air-conditioner', LOCK: 'smart-lock' } as const;
const DEVICE_PROFILE_ID = { AC: '5b1c2d30-6a1b-11ef-8e0c-5b1f3a2d7c10', LOCK: '5b1c2d31-6a1b-11ef-8e0c-5b1f3a2d7c10' } as const;

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** The ways serials get typed into the IoT console's device name. */
const NAME_FORMATS: ((s: string) => string)[] = [
  (s) => s,
  (s) => s.toLowerCase(),
  (s) => `${s.slice(0, 5)} ${s.slice(5, 9)} ${s.slice(9)}`,
  (s) => s,
  (s) => `${s.slice(0, 5)} ${s.slice(5, 9)} ${s.slice(9)}`.toLowerCase(),
];

function entityId(entityType: string, id: string) {
  return { entityType, id };
}

function tbDevice(id: string, name: string, kind: 'AC' | 'LOCK', label: string | null, createdTime: number, customerId: string | null, additionalInfo: Record<string, unknown> = {}): TbDevice {
  return {
    id: entityId('DEVICE', id),
    createdTime,
    tenantId: entityId('TENANT', SANDBOX_TENANT_ID),
    customerId: entityId('CUSTOMER', customerId ?? TB_NULL_UUID),
    name,
    type: TYPE[kind],
    label,
    deviceProfileId: entityId('DEVICE_PROFILE', DEVICE_PROFILE_ID[kind]),
    firmwareId: null,
    softwareId: null,
    externalId: null,
    version: 1,
    additionalInfo: { gateway: false, overwriteActivityTime: false, description: '', ...additionalInfo },
    deviceData: { configuration: { type: 'DEFAULT' }, transportConfiguration: { type: 'DEFAULT' } },
  };
}

function uuidFrom(rng: DemoRng): string {
  const hex = '0123456789abcdef';
  return `${rng.chars(8, hex)}-${rng.chars(4, hex)}-11ef-${rng.pick(['8', '9', 'a', 'b'])}${rng.chars(3, hex)}-${rng.chars(12, hex)}`;
}

function emptyAttributes(): Record<TbAttributeScope, Record<string, SandboxValue>> {
  return { SERVER_SCOPE: {}, SHARED_SCOPE: {}, CLIENT_SCOPE: {} };
}

interface Reading {
  online: boolean;
  lastSeen: number;
  runCount: number;
  alerts: string[];
  updatedAt: number;
  firmware: string;
  targetFirmware: string;
  firmwareTs: number;
}

/** How ThingsBoard holds one device's state: device-state attributes, OTA attributes, time series. */
function valuesOf(r: Reading): Pick<SandboxDevice, 'attributes' | 'timeseries'> {
  const attributes = emptyAttributes();
  // DefaultDeviceStateService keeps these as server attributes (unless persisted to telemetry).
  attributes.SERVER_SCOPE.active = { value: r.online, ts: r.updatedAt };
  attributes.SERVER_SCOPE.lastActivityTime = { value: r.lastSeen, ts: r.lastSeen };
  // OTA: the target firmware is a shared attribute; the device reports what it runs as telemetry.
  attributes.SHARED_SCOPE.fw_version = { value: r.targetFirmware, ts: r.firmwareTs };
  return {
    attributes,
    timeseries: {
      runCount: { value: r.runCount, ts: r.lastSeen },
      faultCodes: { value: r.alerts.join(','), ts: r.updatedAt },
      current_fw_version: { value: r.firmware, ts: r.firmwareTs },
    },
  };
}

export function buildThingsBoardSandboxData(options: BuildOptions = {}): ThingsBoardSandboxData {
  const scale = Math.max(0, Math.floor(options.scale ?? 0));
  const demo = generateDemoDataset(options.seed ?? DEMO_SEED);
  const rng = new DemoRng((options.seed ?? DEMO_SEED) ^ 0x7b7b7b7b);
  const telemetry = new Map(demo.telemetry.map((t) => [t.serial, t]));
  const connected = demo.devices.filter((d): d is DemoDevice & { iotId: string } => d.iotId !== null && telemetry.has(d.serial));

  // The firmware story: a device whose ERP firmware is older than the newest firmware its model
  // runs in this data set reports that newest one (an over-the-air upgrade the ERP never saw).
  const newest = new Map<string, string>();
  for (const d of demo.devices) if ((newest.get(d.model) ?? '') < d.firmware) newest.set(d.model, d.firmware);
  const upgraded = connected.find((d, i) => i >= 3 && newest.get(d.model)! > d.firmware) ?? connected[3];
  const upgradedTo = newest.get(upgraded.model)! > upgraded.firmware ? newest.get(upgraded.model)! : `${upgraded.firmware}-ota1`;

  const devices: SandboxDevice[] = connected.map((d, i) => {
    const t = telemetry.get(d.serial)!;
    const createdTime = Date.parse(d.createdAt) + 3 * HOUR; // registered when the installer commissioned it
    const firmware = d === upgraded ? upgradedTo : d.firmware;
    return {
      device: tbDevice(d.iotId, NAME_FORMATS[i % NAME_FORMATS.length](d.serial), d.kind, d.model, createdTime, d.kind === 'AC' ? SANDBOX_CUSTOMER_ID : null),
      serial: d.serial,
      ...valuesOf({
        online: t.online,
        lastSeen: Date.parse(t.lastSeenAt),
        runCount: t.runCount,
        alerts: t.alerts,
        updatedAt: Date.parse(t.updatedAt),
        firmware,
        targetFirmware: firmware,
        firmwareTs: d === upgraded ? Date.parse(t.updatedAt) - 2 * 24 * HOUR : createdTime + 5 * MINUTE,
      }),
    };
  });

  // A unit the ERP never sold (grey import, or a swapped board): its serial is in no demo record.
  const known = new Set(demo.devices.map((d) => d.serial));
  let unsoldSerial: string;
  do unsoldSerial = `GA72H2409${rng.digits(6)}`;
  while (known.has(unsoldSerial));
  const unsoldId = uuidFrom(rng);
  const nowMs = Date.parse(demo.now);
  const unsoldCreated = Date.parse('2026-03-02T03:15:00.000Z');
  devices.push({
    device: tbDevice(unsoldId, NAME_FORMATS[4](unsoldSerial), 'AC', 'KFR-72LW/N8HR3', unsoldCreated, null),
    serial: unsoldSerial,
    ...valuesOf({
      online: true,
      lastSeen: nowMs - 4 * MINUTE,
      runCount: 1312,
      alerts: [],
      updatedAt: nowMs - 3 * MINUTE,
      firmware: 'V3.1.0',
      targetFirmware: 'V3.1.0',
      firmwareTs: unsoldCreated + 5 * MINUTE,
    }),
  });

  // A bench unit provisioned for testing that never connected: no time series, only the state
  // attribute ThingsBoard writes when the device is created.
  const silentId = uuidFrom(rng);
  const silentCreated = Date.parse('2026-10-09T06:40:00.000Z');
  const silentAttrs = emptyAttributes();
  silentAttrs.SERVER_SCOPE.active = { value: false, ts: silentCreated };
  devices.push({ device: tbDevice(silentId, 'bench-test-01', 'AC', '检测台', silentCreated, null), serial: 'BENCH-TEST-01', attributes: silentAttrs, timeseries: {} });

  for (let i = 0; i < scale; i++) {
    const kind = rng.chance(0.7) ? 'AC' : 'LOCK';
    const serial = `SIM${kind === 'AC' ? 'AC' : 'LK'}${String(i + 1).padStart(10, '0')}`;
    const created = nowMs - rng.int(30, 900) * 24 * HOUR;
    const online = rng.chance(0.8);
    const lastSeen = online ? nowMs - rng.int(0, 15) * MINUTE : nowMs - rng.int(1, 40) * 24 * HOUR;
    const firmware = kind === 'AC' ? 'V3.1.0' : 'LK-2.1.0';
    devices.push({
      device: tbDevice(uuidFrom(rng), NAME_FORMATS[i % NAME_FORMATS.length](serial), kind, 'simulated', created, null),
      serial,
      ...valuesOf({
        online,
        lastSeen,
        runCount: rng.int(10, 20_000),
        alerts: rng.chance(0.05) ? [rng.pick(kind === 'AC' ? ['E1', 'F4', 'P0'] : ['L1', 'L5'])] : [],
        updatedAt: Math.max(lastSeen, nowMs - rng.int(1, 10) * MINUTE),
        firmware,
        targetFirmware: firmware,
        firmwareTs: created + 5 * MINUTE,
      }),
    });
  }

  const ids = new Set(devices.map((d) => d.device.id.id));
  if (ids.size !== devices.length) throw new Error('thingsboard sandbox data: duplicate device ids');
  for (const d of devices) {
    if (d.serial !== null && normalizeSerial(d.device.name) !== d.serial) {
      throw new Error(`thingsboard sandbox data: device name ${d.device.name} does not normalize to ${d.serial}`);
    }
  }

  return {
    tenantId: SANDBOX_TENANT_ID,
    customerId: SANDBOX_CUSTOMER_ID,
    users: [
      {
        username: SANDBOX_USERNAME,
        password: SANDBOX_PASSWORD,
        authority: 'TENANT_ADMIN',
        userId: '6c2d3e40-6a1b-11ef-8e0c-5b1f3a2d7c10',
        customerId: TB_NULL_UUID,
        firstName: 'Junction',
      },
    ],
    devices,
    story: {
      unsold: { id: unsoldId, serial: unsoldSerial },
      firmwareMismatch: { id: upgraded.iotId, serial: upgraded.serial, erpFirmware: upgraded.firmware, iotFirmware: upgradedTo },
      silent: { id: silentId, name: 'bench-test-01' },
    },
  };
}
