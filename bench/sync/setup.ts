import { createHash } from 'node:crypto';
import type { Client } from 'pg';
import { startSalesforceSandbox } from '../../connectors/salesforce/sandbox/server';
import { startKingdeeSandbox } from '../../connectors/kingdee/sandbox/server';
import { buildKingdeeData } from '../../connectors/kingdee/sandbox/data';
import { startThingsBoardSandbox } from '../../connectors/thingsboard/sandbox/server';
import { buildThingsBoardSandboxData } from '../../connectors/thingsboard/sandbox/data';
import { sandboxConnectorsYaml } from '../../src/demo/sandboxes';
import { databaseUrls as sharedUrls, recreateDatabase as recreateShared } from '../common/db';
import type { RecordSplit } from './args';

/**
 * The benchmark's own database; never the developer's or a test run's. BENCH_SYNC_DATABASE names
 * another one, so two people benchmarking on one server do not drop each other's.
 */
export const BENCH_DATABASE = process.env.BENCH_SYNC_DATABASE || 'junction_bench_sync';

/** Admin connection (for DROP/CREATE DATABASE) and the benchmark database's URL. */
export function databaseUrls(): { adminUrl: string; benchUrl: string } {
  return sharedUrls(BENCH_DATABASE);
}

/** Drops and recreates the benchmark database, then applies the project's migrations. */
export function recreateDatabase(adminUrl: string, benchUrl: string): Promise<string[]> {
  return recreateShared(adminUrl, benchUrl, BENCH_DATABASE);
}

/**
 * Empties every table the migrations created (not the migrations' own), identities restarted.
 * `device_serial_variant` is left out of the list: device's truncate trigger empties it, and
 * PostgreSQL refuses to truncate a table twice in one statement from inside a trigger.
 */
export async function truncateAll(c: Client): Promise<void> {
  const { rows } = await c.query<{ t: string }>(
    `select quote_ident(tablename) as t from pg_tables
      where schemaname = 'public' and tablename not in ('mikro_orm_migrations', 'device_serial_variant')`,
  );
  if (rows.length) await c.query(`truncate ${rows.map((r) => r.t).join(', ')} restart identity cascade`);
}

/** Row counts of the golden and metadata tables after a sync. */
export async function countRows(c: Client): Promise<Record<string, number>> {
  const tables = ['customer', 'device', 'purchase', 'spare_part', 'stock', 'telemetry', 'complaint', 'source_record', 'source_link', 'audit_log', 'data_issue'];
  const { rows } = await c.query(`select ${tables.map((t) => `(select count(*) from ${t})::int as ${t}`).join(', ')}`);
  return rows[0] as Record<string, number>;
}

export interface BenchSandboxes {
  configYaml: string;
  close(): Promise<void>;
}

/**
 * A synthetic serial replaced by a pseudo-random one of the same prefix (deterministic): the
 * sandboxes number their synthetic serials in sequence (SYN000000001, SIMAC0000000001, ...), so
 * every new one is one edit away from its neighbours; with these, near pairs are improbable.
 */
function spreadSerial(serial: string): string {
  const prefix = /^[A-Z]+/.exec(serial)?.[0] ?? '';
  const digest = BigInt(`0x${createHash('sha256').update(serial).digest('hex').slice(0, 16)}`);
  return `${prefix}${digest.toString(36).toUpperCase().padStart(12, '0').slice(-12)}`;
}

/**
 * The three sandboxes of `src/demo/sandboxes.ts`, in this process on free ports, each with its
 * own `scale` (startDemoSandboxes takes one scale for all three, which would make ThingsBoard,
 * whose stream costs two HTTP calls per device, as big as every ERP form). Same config shape.
 * `distinctSerials`: the ERP's and IoT's synthetic serials spread out (see spreadSerial).
 */
export async function startBenchSandboxes(split: RecordSplit, distinctSerials = false): Promise<BenchSandboxes> {
  const crm = await startSalesforceSandbox({ port: 0, host: '127.0.0.1', scale: split.crmAccounts });
  const erpData = buildKingdeeData({ scale: split.erpPerForm });
  const iotData = buildThingsBoardSandboxData({ scale: split.iotDevices });
  if (distinctSerials) {
    for (const row of erpData.forms.BD_SerialMainFile.rows) {
      if (String(row.FNumber).startsWith('SYN')) row.FNumber = spreadSerial(String(row.FNumber));
    }
    for (const row of erpData.forms.SAL_SaleOrder.rows) {
      if (String(row.F_JUN_SerialNo ?? '').startsWith('SYN')) row.F_JUN_SerialNo = spreadSerial(String(row.F_JUN_SerialNo));
    }
    for (const d of iotData.devices) {
      if (d.serial?.startsWith('SIM')) {
        d.serial = spreadSerial(d.serial);
        d.device.name = d.serial;
      }
    }
  }
  const erp = await startKingdeeSandbox({ port: 0, host: '127.0.0.1', data: erpData });
  const iot = await startThingsBoardSandbox({ port: 0, host: '127.0.0.1', data: iotData });
  const configYaml = sandboxConnectorsYaml({ crm: crm.url, erp: erp.url, iot: iot.url }, crm.control.credentials);
  return {
    configYaml,
    async close() {
      await Promise.all([crm.close(), erp.close(), iot.close()]);
    },
  };
}
