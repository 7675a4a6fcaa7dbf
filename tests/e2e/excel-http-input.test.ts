/**
 * Excel over HTTP, what a client sends that is not quite right: yes/no parameters as other
 * languages write them (Python's `True`) or not at all (`maybe`), an upload the client abandons
 * half way, a file name holding U+0000, an export date that is no day. Each is answered (or
 * refused, naming the parameter) and leaves no spooled upload behind.
 */
import { readdirSync, readFileSync } from 'fs';
import { connect } from 'net';
import { sqlOne } from '../../src/db/sql';
import { scratchDir, tableCounts, writeWorkbook } from '../support/excel';
import { startTestHub, TestHub } from '../support/server';

let hub: TestHub;
const dir = scratchDir();
const spool = scratchDir('junction-upload-spool-');
let base: string;

beforeAll(async () => {
  process.env.JUNCTION_EXCEL_UPLOAD_DIR = spool.dir;
  hub = await startTestHub();
  delete process.env.JUNCTION_EXCEL_UPLOAD_DIR;
  base = hub.server.url.replace(/\/graphql$/, '');
});
afterAll(async () => {
  await hub.stop();
  dir.remove();
  spool.remove();
});

const auth = () => ({ authorization: `Bearer ${hub.keys.batch}` });
const spooled = () => readdirSync(spool.dir);

/** Waits (bounded) until the upload spool is empty; returns what is left. */
async function spoolEmptied(): Promise<string[]> {
  for (let i = 0; i < 200 && spooled().length; i++) await new Promise((r) => setTimeout(r, 25));
  return spooled();
}

async function finished(id: string): Promise<any> {
  for (let i = 0; i < 400; i++) {
    const job = ((await (await fetch(`${base}/excel/jobs/${id}`, { headers: auth() })).json()) as any).job;
    if (!['QUEUED', 'RUNNING'].includes(job.status)) return job;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`job ${id} did not finish`);
}

async function upload(file: string, query = '', name = file.split('/').pop()!): Promise<Response> {
  const form = new FormData();
  form.append('file', new Blob([readFileSync(file)]), name);
  return fetch(`${base}/excel/import/devices${query}`, { method: 'POST', headers: auth(), body: form });
}

const jobCount = async () => Number((await sqlOne<{ n: string }>(hub.server.orm, 'select count(*) as n from excel_job'))!.n);

describe('Excel HTTP input', () => {
  it('dryRun=True (Python requests) is a dry run, atomic=TRUE is atomic; dryRun=maybe is refused naming the parameter', async () => {
    const file = await writeWorkbook(dir.file('devices.xlsx'), [{ name: '设备', rows: [['设备序列号', '型号'], ['SN-FLAG-1', 'M1']] }]);
    const before = await tableCounts(hub.server.orm);
    const res = await upload(file, '?dryRun=True&atomic=TRUE');
    expect(res.status).toBe(202);
    const job = await finished(((await res.json()) as any).job.id);
    expect(job).toMatchObject({ dryRun: true, atomic: true, failed: 0 });
    expect(await tableCounts(hub.server.orm)).toEqual(before);
    expect(await sqlOne(hub.server.orm, `select id from device where serial like '%FLAG-1%'`)).toBeNull();

    const jobs = await jobCount();
    for (const [query, parameter] of [['?dryRun=maybe', 'dryRun'], ['?atomic=2', 'atomic'], ['?push=nope', 'push']]) {
      const bad = await upload(file, query);
      expect(bad.status).toBe(400);
      const body = (await bad.json()) as any;
      expect(body.error).toMatchObject({ code: 'BAD_USER_INPUT', parameter });
      expect(body.error.message).toContain(parameter);
    }
    expect(await jobCount()).toBe(jobs);
    expect(await spoolEmptied()).toEqual([]);
    // and false is false
    const real = await upload(file, '?dryRun=False');
    expect(await finished(((await real.json()) as any).job.id)).toMatchObject({ dryRun: false, imported: 1 });
  });

  it('an upload the client abandons half way leaves no spooled file and no open handler', async () => {
    const url = new URL(base);
    const boundary = 'xxBOUNDARYxx';
    const head = `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="half.xlsx"\r\ncontent-type: application/octet-stream\r\n\r\n`;
    const socket = connect(Number(url.port), url.hostname);
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.write(`POST /excel/import/devices HTTP/1.1\r\nhost: ${url.host}\r\nauthorization: Bearer ${hub.keys.batch}\r\n`
      + `content-type: multipart/form-data; boundary=${boundary}\r\ncontent-length: 200000\r\n\r\n`);
    socket.write(head);
    socket.write(Buffer.alloc(50_000, 7));
    // the file is being spooled...
    for (let i = 0; i < 200 && !spooled().length; i++) await new Promise((r) => setTimeout(r, 25));
    expect(spooled()).toHaveLength(1);
    socket.destroy();
    // ...and once the client is gone the handler settles and deletes it
    expect(await spoolEmptied()).toEqual([]);
  });

  it('a file name holding U+0000 is stored with the character replaced (202), and the spool is emptied', async () => {
    const file = await writeWorkbook(dir.file('nul.xlsx'), [{ name: '设备', rows: [['设备序列号', '型号'], ['SN-NUL-1', 'M1']] }]);
    const boundary = 'nulBOUNDARY';
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="file"; filename*=UTF-8''a%00b.xlsx\r\ncontent-type: application/octet-stream\r\n\r\n`),
      readFileSync(file), Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const res = await fetch(`${base}/excel/import/devices?dryRun=1`, {
      method: 'POST', headers: { ...auth(), 'content-type': `multipart/form-data; boundary=${boundary}` }, body,
    });
    expect(res.status).toBe(202);
    const job = await finished(((await res.json()) as any).job.id);
    expect(job.fileName).toBe('a_b.xlsx');
    expect(await spoolEmptied()).toEqual([]);

    const long = await upload(file, '?dryRun=1', `${'长'.repeat(300)}.xlsx`);
    expect(long.status).toBe(202);
    expect([...((await long.json()) as any).job.fileName]).toHaveLength(255);
    expect(await spoolEmptied()).toEqual([]);
  });

  it('an export date that is no day (2026-02-30) is refused with 400 BAD_USER_INPUT, and the gateway answers on', async () => {
    for (const q of ['from=2026-02-30', 'to=2026-13-01', 'from=2025-02-29']) {
      const res = await fetch(`${base}/excel/export/tickets?${q}`, { headers: auth() });
      expect(res.status).toBe(400);
      const body = (await res.json()) as any;
      expect(body.error.code).toBe('BAD_USER_INPUT');
      expect(body.error.message).toContain(q.split('=')[0]);
    }
    expect((await fetch(`${base}/excel/export/tickets?from=2024-02-29&to=2026-02-28`, { headers: auth() })).status).toBe(200);
  });
});
