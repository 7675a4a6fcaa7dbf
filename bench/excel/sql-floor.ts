/**
 * The hand-written SQL baseline of bench:excel: the rows an import of the benchmark workbook must
 * write, written by plain set-based SQL on one connection in one transaction, 2000 rows a
 * statement, with nothing else. The same tables (migrated: indexes, constraints, the serial-variant
 * trigger), the same rows (bench/excel/generate.ts, turned into canonical values here rather than
 * read from the file) and the same writes per row:
 *   - an `excel_row` claim (re-import must find it);
 *   - the customer (one per three rows) and the device, with their lineage naming file and row;
 *   - the near-duplicate check of the new devices (the merge's own statement);
 *   - a source link per record (customer and device: identity by source link);
 *   - one audit row per created record.
 * No reading, no mapping, no survivorship, no existing-row reads, no result lines: what is left is
 * what PostgreSQL must do for these rows, so import/floor says how much the hub adds on top.
 * Prints one JSON line: { ms, cpuMs, maxRssKb, rows }.
 */
import { createHash } from 'crypto';
import { serialToDate } from '../../src/excel/cells';
import { normalizePhone } from '../../src/identity/normalize';
import { addMonths, parseDate } from '../../src/mapping/functions';
import { NEAR_DUPLICATE_DEVICES_SQL } from '../../src/sync/merge';
import { connectLikeHub, numberedPlaceholders } from '../common/db';
import { benchRowCells } from './generate';
import { peakRssKb } from './peak-rss';

const BATCH = 2000;
const FILE = 'excel-devices-floor.xlsx';
const SHEET = '设备';

/**
 * Data row i as the canonical values the import writes for it, through the hub's own helpers:
 * phones normalized, dates from Excel serial days or text, warranty months added as the mapping's
 * $addMonths does.
 */
function canonical(i: number) {
  const cells = benchRowCells(i);
  const [serial, model, firmware, phone, name, purchase, months, end] = cells;
  const purchaseDate = (typeof purchase === 'number' ? serialToDate(purchase) : parseDate(purchase))!;
  return {
    row: i + 2,
    serial: serial as string, model, firmware, name,
    phone: normalizePhone(phone as string | number)!,
    purchaseDate,
    warrantyEnd: end ? String(end) : months ? addMonths(purchaseDate, months) : null,
    hash: createHash('md5').update(JSON.stringify(cells)).digest('hex'),
  };
}

async function main(): Promise<void> {
  const [url, rowsArg] = process.argv.slice(2);
  const rows = Number(rowsArg);
  const db = await connectLikeHub(url);
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  const at = new Date().toISOString();
  await db.query('begin');
  for (let first = 0; first < rows; first += BATCH) {
    const batch = Array.from({ length: Math.min(BATCH, rows - first) }, (_, k) => canonical(first + k));
    const withSource = batch.map((r) => {
      const externalId = `${FILE}#${SHEET}!${r.row}`;
      const source = JSON.stringify({ at, stream: 'devices', system: 'excel', connector: 'excel', externalId });
      return { ...r, externalId, key: BigInt.asIntN(64, BigInt(`0x${r.hash.slice(0, 16)}`)).toString(), source };
    });
    await db.query(
      `insert into excel_row (row_key, template, row_hash, file_name, sheet, row_number, status)
       select x.k, 'devices', x.h, $1, $2, x.n, 'IMPORTED' from unnest($3::bigint[], $4::text[], $5::int[]) x(k, h, n)
       on conflict (row_key) do nothing`,
      [FILE, SHEET, withSource.map((r) => r.key), withSource.map((r) => r.hash), withSource.map((r) => r.row)],
    );
    // The first row of each customer creates it (a customer's three rows may straddle two batches).
    const customers = withSource.filter((r) => (r.row - 2) % 3 === 0)
      .map((r) => ({ phone: r.phone, name: r.name, lineage: JSON.parse(`{"~":[${r.source}],"name":0,"phone":0}`), externalId: r.externalId }));
    const createdCustomers = customers.length ? (await db.query(
      `insert into customer (phone, name, lineage) select phone, name, lineage from jsonb_to_recordset($1::jsonb) x(phone text, name text, lineage jsonb)
       on conflict (phone) do nothing returning id, phone, name`,
      [JSON.stringify(customers)],
    )).rows : [];
    const devices = withSource.map((r) => ({
      serial: r.serial, model: r.model, firmware: r.firmware, purchase_date: r.purchaseDate, warranty_end: r.warrantyEnd, phone: r.phone,
      lineage: JSON.parse(`{"~":[${r.source}],"model":0,"owner":0,"serial":0,"firmware":0,"warrantyEnd":0,"purchaseDate":0}`),
    }));
    const createdDevices = (await db.query(
      `insert into device (serial, model, firmware, purchase_date, warranty_end, owner_id, lineage)
       select x.serial, x.model, x.firmware, x.purchase_date, x.warranty_end, (select c.id from customer c where c.phone = x.phone), x.lineage
         from jsonb_to_recordset($1::jsonb) x(serial text, model text, firmware text, purchase_date date, warranty_end date, phone text, lineage jsonb)
       returning id, serial, model, firmware, purchase_date, warranty_end, owner_id`,
      [JSON.stringify(devices)],
    )).rows;
    await db.query(numberedPlaceholders(NEAR_DUPLICATE_DEVICES_SQL), [JSON.stringify(createdDevices.map((d) => ({ id: d.id, serial: d.serial }))), 'excel/devices', 'excel/devices']);
    await db.query(
      `insert into source_link (system, stream, external_id, entity_type, entity_id, version, seen_at)
       select 'excel', 'devices', x.external_id, 'customer', (select c.id from customer c where c.phone = x.phone), x.hash, now()
         from jsonb_to_recordset($1::jsonb) x(external_id text, phone text, serial text, hash text)
       union all
       select 'excel', 'devices', x.external_id, 'device', (select d.id from device d where d.serial = x.serial), x.hash, now()
         from jsonb_to_recordset($1::jsonb) x(external_id text, phone text, serial text, hash text)
       on conflict (system, stream, external_id, entity_type) do update set entity_id = excluded.entity_id, version = excluded.version, seen_at = now()`,
      [JSON.stringify(withSource.map((r) => ({ external_id: r.externalId, phone: r.phone, serial: r.serial, hash: r.hash })))],
    );
    const externalIdOf = new Map(withSource.map((r) => [r.serial, r.externalId]));
    const customerExternalId = new Map(customers.map((c) => [c.phone, c.externalId]));
    const audit = [
      ...createdCustomers.map((c) => ({ entity: 'customer', id: c.id, after: { name: c.name, phone: c.phone }, origin: customerExternalId.get(c.phone) })),
      ...createdDevices.map((d) => ({
        entity: 'device', id: d.id, origin: externalIdOf.get(d.serial),
        after: { serial: d.serial, model: d.model, firmware: d.firmware, purchaseDate: d.purchase_date, warrantyEnd: d.warranty_end, owner: d.owner_id },
      })),
    ];
    await db.query(
      `insert into audit_log (entity_type, entity_id, field, before, after, actor, origin)
       select entity, id, '(created)', null::jsonb, after, 'sync:excel', 'sync:excel/devices:' || origin
         from jsonb_to_recordset($1::jsonb) x(entity text, id bigint, after jsonb, origin text)`,
      [JSON.stringify(audit)],
    );
  }
  await db.query('commit');
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpu = process.cpuUsage(cpu0);
  await db.end();
  process.stdout.write(`${JSON.stringify({ rows, ms, cpuMs: (cpu.user + cpu.system) / 1000, maxRssKb: peakRssKb() })}\n`);
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
});
