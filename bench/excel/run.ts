/**
 * `npm run bench:excel`: a 1M-row `devices` workbook (written with exceljs's WorkbookWriter)
 * imported by `junction excel import`, next to a plain exceljs streaming read of the same file in
 * the same run; then a re-import (must change nothing) and a streaming export. Each side runs in
 * its own process so its peak RSS (`VmHWM`, bench/excel/peak-rss.ts) is its own. Prints figures
 * next to the targets; fails only when something is wrong (counts, exit codes). See bench/README.md.
 */
import 'reflect-metadata';
import { spawn } from 'child_process';
import { appendFileSync, existsSync, mkdirSync, statSync } from 'fs';
import os from 'os';
import { join, resolve } from 'path';
import { Client } from 'pg';
import { migrate, openOrm } from '../../src/db/orm';
import { BackendCpu } from '../sync/instrument';
import { generateDevicesWorkbook } from './generate';

const TARGET_SECONDS = 60;
const TARGET_RSS_MB = 300;
const TARGET_RATIO = 0.5;

const log = (s = '') => process.stdout.write(`${s}\n`);

function args() {
  const a = process.argv.slice(2);
  const get = (k: string) => {
    const i = a.indexOf(k);
    return i >= 0 ? a[i + 1] : undefined;
  };
  return {
    rows: Number(get('--rows') ?? 1_000_000),
    reimport: !a.includes('--no-reimport'),
    export: !a.includes('--no-export'),
    floor: !a.includes('--no-floor'),
    // Two runs at once on one database would drop it under each other.
    database: get('--database') ?? 'junction_bench_excel',
  };
}

function child(script: string, argv: string[], env: Record<string, string> = {}): Promise<any> {
  return new Promise((resolvePromise, reject) => {
    // JUNCTION_BENCH_NODE_ARGS: node flags for the children (e.g. --trace-gc).
    const flags = (process.env.JUNCTION_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const p = spawn(process.execPath, [...flags, script, ...argv], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    // JUNCTION_BENCH_CHILD_LOG=<file>: the children's stdout as well (the --trace-gc lines).
    const childLog = process.env.JUNCTION_BENCH_CHILD_LOG;
    if (childLog) p.stdout.on('data', (d) => appendFileSync(childLog, d));
    p.on('error', reject);
    p.on('close', (code) => {
      // The last JSON line: node flags such as --trace-gc print to stdout as well.
      const line = out.trim().split('\n').filter((l) => l.startsWith('{')).pop() ?? '';
      if (code !== 0) return reject(new Error(`${script} exited with ${code}: ${out}`));
      try {
        resolvePromise(JSON.parse(line));
      } catch {
        reject(new Error(`${script} printed no result: ${out}`));
      }
    });
  });
}

async function main(): Promise<void> {
  const { rows, reimport, export: doExport, floor: doFloor, database: DB } = args();
  const admin = process.env.BENCH_DATABASE_URL || process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
  const out = resolve(__dirname, '..', '..', '..', 'bench', 'out');
  mkdirSync(out, { recursive: true });
  const file = join(out, `excel-devices-${rows}.xlsx`);
  log(`bench:excel: ${rows.toLocaleString('en-US')} rows, template devices; ${os.cpus().length} CPUs, Node ${process.version}`);
  if (os.loadavg()[0] > 0.7) log(`WARNING: load average ${os.loadavg()[0].toFixed(2)}: figures will be noisy`);

  if (!existsSync(file)) {
    const t = Date.now();
    await generateDevicesWorkbook(file, rows);
    log(`Generated ${file} (${(statSync(file).size / 1e6).toFixed(1)} MB) with WorkbookWriter in ${((Date.now() - t) / 1000).toFixed(1)} s.`);
  } else log(`Reusing ${file} (${(statSync(file).size / 1e6).toFixed(1)} MB).`);

  const urlOf = (name: string) => {
    const v = new URL(admin);
    v.pathname = `/${name}`;
    return v.toString();
  };
  const url = urlOf(DB);
  const fresh = async (name: string) => {
    const c = new Client({ connectionString: admin });
    await c.connect();
    await c.query(`drop database if exists "${name}" with (force)`);
    await c.query(`create database "${name}"`);
    await c.end();
    const orm = await openOrm(urlOf(name));
    await migrate(orm);
    await orm.close(true);
  };
  await fresh(DB);

  const dist = resolve(__dirname);
  const plain = await child(join(dist, 'plain-read.js'), [file]);
  // PostgreSQL's share: the backends serving the bench database, sampled from /proc while a child runs.
  const monitor = new Client({ connectionString: admin });
  await monitor.connect();
  const withPg = async (script: string, argv: string[], database = DB) => {
    const backends = new BackendCpu(async () =>
      (await monitor.query<{ pid: number }>(`select pid from pg_stat_activity where datname = $1`, [database])).rows.map((r) => r.pid));
    const { result, cpuMs } = await backends.during(() => child(script, argv));
    return { ...result, pgCpuMs: cpuMs };
  };
  const imp = await withPg(join(dist, 'import-child.js'), [file, 'devices', out, url]);
  const db = new Client({ connectionString: url });
  await db.connect();
  const count = async (t: string) => Number((await db.query(`select count(*) as n from ${t}`)).rows[0].n);
  const devices = await count('device');
  const customers = await count('customer');
  const dataRows = plain.rows - 1;
  const ok = imp.code === 0 && devices === dataRows && customers === Math.ceil(dataRows / 3);
  let again: any = null;
  if (reimport) again = await withPg(join(dist, 'import-child.js'), [file, 'devices', out, url]);
  const devicesAfter = await count('device');
  const auditBefore = await count('audit_log');
  let exp: any = null;
  if (doExport) exp = await withPg(join(dist, 'export-child.js'), ['devices', join(out, `excel-devices-${rows}.export.xlsx`), url]);
  await db.end();
  // The same rows written by hand-written set-based SQL into a database of their own (bench/excel/sql-floor.ts).
  let floor: any = null;
  if (doFloor) {
    const floorDb = `${DB}_floor`;
    await fresh(floorDb);
    floor = await withPg(join(dist, 'sql-floor.js'), [urlOf(floorDb), String(rows)], floorDb);
    const f = new Client({ connectionString: urlOf(floorDb) });
    await f.connect();
    floor.devices = Number((await f.query('select count(*) as n from device')).rows[0].n);
    await f.end();
    const c = new Client({ connectionString: admin });
    await c.connect();
    await c.query(`drop database if exists "${floorDb}" with (force)`);
    await c.end();
  }
  await monitor.end();

  const mb = (kb: number) => kb / 1024;
  const rps = (n: number, ms: number) => Math.round(n / (ms / 1000));
  const ratio = rps(dataRows, imp.ms) / rps(dataRows, plain.ms);
  log('');
  log('side                          rows   seconds     rows/s   peak RSS MB   Node CPU s   PG CPU s');
  const secs = (ms: number | null | undefined, width: number) => (ms === undefined || ms === null ? '-' : (ms / 1000).toFixed(1)).padStart(width);
  const line = (name: string, n: number, ms: number, kb: number, cpuMs?: number, pgMs?: number | null) =>
    log(`${name.padEnd(26)}${String(n).padStart(8)}${(ms / 1000).toFixed(1).padStart(10)}${String(rps(n, ms)).padStart(11)}${mb(kb).toFixed(0).padStart(14)}` +
      `${secs(cpuMs, 13)}${secs(pgMs, 11)}`);
  line('exceljs streaming read', dataRows, plain.ms, plain.maxRssKb, plain.cpuMs);
  line('junction excel import', dataRows, imp.ms, imp.maxRssKb, imp.cpuMs, imp.pgCpuMs);
  if (again) line('re-import (unchanged)', dataRows, again.ms, again.maxRssKb, again.cpuMs, again.pgCpuMs);
  if (exp) line('junction excel export', exp.rows, exp.ms, exp.maxRssKb, undefined, exp.pgCpuMs);
  if (floor) line('hand-written SQL (floor)', floor.rows, floor.ms, floor.maxRssKb, floor.cpuMs, floor.pgCpuMs);
  log('');
  const verdict = (met: boolean) => (met ? 'met' : 'MISSED');
  log(`import: ${(imp.ms / 1000).toFixed(1)} s for ${dataRows} rows (target ≤ ${TARGET_SECONDS} s for 1M: ${verdict(imp.ms / 1000 <= (TARGET_SECONDS * dataRows) / 1e6)}), ` +
    `peak RSS ${mb(imp.maxRssKb).toFixed(0)} MB (target < ${TARGET_RSS_MB}: ${verdict(mb(imp.maxRssKb) < TARGET_RSS_MB)}), ` +
    `ratio to the plain read ${ratio.toFixed(2)} (target ≥ ${TARGET_RATIO}: ${verdict(ratio >= TARGET_RATIO)})`);
  if (floor) {
    log(`floor: the same rows' writes in plain SQL took ${(floor.ms / 1000).toFixed(1)} s (${rps(floor.rows, floor.ms)} rows/s; ` +
      `the import took ${(imp.ms / floor.ms).toFixed(2)}× as long); at this rate 1M rows need ${((floor.ms / floor.rows) * 1e6 / 1000).toFixed(0)} s of SQL alone (target ${TARGET_SECONDS} s)`);
  }
  log(`check: ${devices} devices, ${customers} customers after the import${again ? `; re-import ${again.summary.includes(`unchanged ${dataRows}`) && devicesAfter === devices ? 'changed nothing' : 'CHANGED SOMETHING'}` : ''}; ${auditBefore} audit rows`);
  log(JSON.stringify({ rows: dataRows, plain, import: imp, reimport: again, export: exp, floor, ratio, devices, customers }));
  if (!ok || (again && !again.summary.includes(`unchanged ${dataRows}`)) || (floor && floor.devices !== dataRows)) {
    log('FAILED: the import did not produce the expected records (see above)');
    process.exitCode = 1;
  }
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
});
