/**
 * Review fixes of the importer: --atomic tickets keep the unit of work bounded, the status of a
 * file where every row failed, unexpected row errors without SQL, batch-independent outcomes,
 * and what DUPLICATE_ROW says about the row it repeats.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { sqlRows } from '../db/sql';
import { ErrorCode, JunctionError } from '../errors/codes';
import { MappingEngine } from '../mapping/engine';
import { TicketService } from '../tickets/ticket-service';
import { useTestDatabase } from '../../tests/support/databases';
import { scratchDir, tableCounts, writeWorkbook } from '../../tests/support/excel';
import { logger } from '../logging/logger';
import { ExcelImporter, ImportSummary } from './importer';
import { ResultLine, readLines } from './results';

const db = useTestDatabase();
let tickets: TicketService;
let importer: ExcelImporter;
const dir = scratchDir();

beforeAll(async () => {
  tickets = new TicketService(db.orm);
  importer = new ExcelImporter(db.orm, new MappingEngine(), tickets);
});
afterAll(async () => {
  dir.remove();
});

const DEVICE_HEADERS = ['设备序列号', '型号', '客户电话', '客户姓名', '购买日期', '保修截止日期'];

async function run(file: string, template: string, opts: { atomic?: boolean; dryRun?: boolean; batchSize?: number; name?: string } = {}): Promise<{ s: ImportSummary; lines: ResultLine[] }> {
  const resultPath = `${file}.${Math.random().toString(36).slice(2)}.jsonl`;
  const s = await importer.run({
    template, path: file, fileName: opts.name ?? file.split('/').pop()!, atomic: opts.atomic, dryRun: opts.dryRun, batchSize: opts.batchSize,
    actor: { name: 'test', origin: 'test' }, resultPath,
  });
  const lines: ResultLine[] = [];
  for await (const l of readLines(resultPath)) lines.push(l);
  return { s, lines };
}

const deviceWorkbook = (name: string, rows: unknown[][]) => writeWorkbook(dir.file(name), [{ name: '设备', rows: [DEVICE_HEADERS, ...rows] }]);
const ticketWorkbook = (name: string, rows: unknown[][]) => writeWorkbook(dir.file(name), [{ name: '工单', rows: [['客户电话', '故障描述'], ...rows] }]);

describe('--atomic tickets', () => {
  beforeAll(async () => {
    await run(await deviceWorkbook('atomic-master.xlsx', [['SN-ATM1', 'KFR', '13800139001', '原客户', null, null]]), 'devices');
  });

  /** Entities the transaction's EntityManager holds when each row's ticket is created. */
  async function managedPerRow(file: string, fail?: number) {
    const original = tickets.createIn.bind(tickets);
    const sizes: number[] = [];
    const spy = jest.spyOn(tickets, 'createIn').mockImplementation(async (em: EntityManager, input, actor) => {
      sizes.push(em.getUnitOfWork().getIdentityMap().keys().length);
      if (sizes.length === fail) throw new JunctionError(ErrorCode.BAD_USER_INPUT, 'refused on purpose', { field: 'input.fault' });
      return original(em, input, actor);
    });
    try {
      return { ...(await run(file, 'tickets', { atomic: true })), sizes };
    } finally {
      spy.mockRestore();
    }
  }

  it('the unit of work does not grow with the rows (each flush would rescan every earlier ticket)', async () => {
    const rows = Array.from({ length: 12 }, (_, i) => ['13800139001', `故障 ${i}`]);
    const { s, sizes } = await managedPerRow(await ticketWorkbook('atomic-many.xlsx', rows));
    expect(s).toMatchObject({ status: 'SUCCEEDED', committed: true, imported: 12 });
    expect(sizes).toHaveLength(12);
    // Before: 0, 6, 12, 18…; now every row starts from the same, empty, unit of work.
    expect(new Set(sizes)).toEqual(new Set([sizes[0]]));
    const made = await sqlRows<{ n: string }>(db.orm, `select count(*) as n from ticket where fault like '故障 %'`);
    expect(Number(made[0].n)).toBe(12);
  });

  it('still all or nothing: a row refused after others were created and cleared rolls every one back', async () => {
    const before = await tableCounts(db.orm);
    const counter = await sqlRows(db.orm, `select * from ticket_number_counter order by day`);
    const rows = Array.from({ length: 6 }, (_, i) => ['13800139001', `回滚 ${i}`]);
    const { s, lines, sizes } = await managedPerRow(await ticketWorkbook('atomic-rollback.xlsx', rows), 5);
    expect(s).toMatchObject({ status: 'FAILED', committed: false, imported: 0, failed: 1 });
    expect(sizes).toHaveLength(5);
    expect(lines.map((l) => l.status)).toEqual(['NOT_IMPORTED', 'NOT_IMPORTED', 'NOT_IMPORTED', 'NOT_IMPORTED', 'FAILED', 'NOT_IMPORTED']);
    expect(await tableCounts(db.orm)).toEqual(before);
    expect(await sqlRows(db.orm, `select * from ticket_number_counter order by day`)).toEqual(counter);
  });
});

describe('a row the database refuses unexpectedly', () => {
  const SQL = /insert into|update \S+ set|select |values \(|"device"|"ticket"|\?|\$\d/i;

  async function withTrigger<T>(table: string, when: string, body: () => Promise<T>): Promise<T> {
    await sqlRows(db.orm, `create or replace function review_refuse() returns trigger language plpgsql as $$
      begin if ${when} then raise exception 'refused by the test trigger'; end if; return new; end $$`);
    await sqlRows(db.orm, `create trigger review_refuse before insert on ${table} for each row execute function review_refuse()`);
    try {
      return await body();
    } finally {
      await sqlRows(db.orm, `drop trigger review_refuse on ${table}`);
    }
  }

  it('devices: the row gets INTERNAL_ERROR and a plain message without SQL; the log has the raw text; the other rows import', async () => {
    const logged = jest.spyOn(logger, 'error').mockImplementation(() => undefined);
    try {
      const { s, lines } = await withTrigger('device', `new.serial = 'SN-TRIG-2'`, async () => run(await deviceWorkbook('trigger-devices.xlsx', [
        ['SN-TRIG-1', 'M', '13800139101', '一', null, null],
        ['SN-TRIG-2', 'M', '13800139102', '二', null, null],
      ]), 'devices'));
      expect(s).toMatchObject({ status: 'PARTIAL', imported: 1, failed: 1 });
      expect(lines[1]).toMatchObject({ row: 3, status: 'FAILED', errors: [{ code: 'INTERNAL_ERROR' }] });
      expect(lines[1].error).toMatch(/^row 3 could not be imported because of an unexpected error/);
      expect(lines[1].error).not.toMatch(SQL);
      expect(JSON.stringify(lines[1].errors)).not.toMatch(/13800139101|SN-TRIG-1|refused by the test trigger/);
      expect(logged).toHaveBeenCalledWith('excel row failed unexpectedly', expect.objectContaining({
        file: 'trigger-devices.xlsx', row: 3, message: expect.stringMatching(/refused by the test trigger/),
      }));
    } finally {
      logged.mockRestore();
    }
  });

  it('tickets: the same for a ticket the database refuses', async () => {
    await run(await deviceWorkbook('trigger-master.xlsx', [['SN-TRIG-T', 'M', '13800139103', '三', null, null]]), 'devices');
    const logged = jest.spyOn(logger, 'error').mockImplementation(() => undefined);
    try {
      const { s, lines } = await withTrigger('ticket', `new.fault = '触发'`, async () =>
        run(await ticketWorkbook('trigger-tickets.xlsx', [['13800139103', '正常'], ['13800139103', '触发']]), 'tickets'));
      expect(s).toMatchObject({ status: 'PARTIAL', imported: 1, failed: 1 });
      expect(lines[1]).toMatchObject({ row: 3, status: 'FAILED', errors: [{ code: 'INTERNAL_ERROR' }] });
      expect(lines[1].error).not.toMatch(SQL);
      expect(lines[1].error).not.toMatch(/refused by the test trigger|13800139103/);
      expect(logged).toHaveBeenCalledWith('excel row failed unexpectedly', expect.objectContaining({ file: 'trigger-tickets.xlsx', row: 3 }));
    } finally {
      logged.mockRestore();
    }
  });
});

describe('a row does not depend on the batch it falls in', () => {
  it('a row naming an owner only a later row of the file describes: the same result with batches of 1 and of 2000', async () => {
    const results: Record<string, unknown> = {};
    for (const [i, batchSize, atomic] of [[1, 1, false], [2, 2000, false], [3, 1, true], [4, 2000, true]] as const) {
      const phone = `1380013920${i}`;
      const { s, lines } = await run(await deviceWorkbook(`order-${i}.xlsx`, [
        [`SN-ORD${i}-A`, 'M', phone, null, null, null],
        [`SN-ORD${i}-B`, 'M', phone, '后来的名字', null, null],
        [`SN-ORD${i}-C`, 'M', `1390013920${i}`, null, null, null], // an owner no row describes
      ]), 'devices', { batchSize, atomic });
      results[`${batchSize}${atomic ? ' atomic' : ''}`] = { status: s.status, imported: s.imported, failed: s.failed, lines: lines.map((l) => [l.row, l.status, l.errors.map((e) => e.code)]) };
      if (!atomic) {
        const owner = await sqlRows<{ name: string }>(db.orm, `select c.name from device d join customer c on c.id = d.owner_id where d.serial = ?`, [`SN-ORD${i}-A`]);
        expect(owner).toEqual([{ name: '后来的名字' }]);
      }
    }
    // Before: with batches of 1, row 2 FAILED (UNRESOLVED_REFERENCE) while in one batch it imported.
    expect(results['1']).toEqual({ status: 'PARTIAL', imported: 2, failed: 1, lines: [[2, 'IMPORTED', []], [3, 'IMPORTED', []], [4, 'FAILED', ['UNRESOLVED_REFERENCE']]] });
    expect(results['2000']).toEqual(results['1']);
    expect(results['1 atomic']).toEqual({ status: 'FAILED', imported: 0, failed: 1, lines: [[2, 'NOT_IMPORTED', []], [3, 'NOT_IMPORTED', []], [4, 'FAILED', ['UNRESOLVED_REFERENCE']]] });
    expect(results['2000 atomic']).toEqual(results['1 atomic']);
  });
});

describe('DUPLICATE_ROW says what became of the row it repeats', () => {
  const dupError = (l: ResultLine) => l.errors.find((e) => e.code === 'DUPLICATE_ROW')?.message;

  it('the repeated row failed in its merge: the repeat says so instead of "imported once, from row N"', async () => {
    const { s, lines } = await run(await deviceWorkbook('dup-failed.xlsx', [
      ['SN-DUPF-1', 'M', '13900139301', null, null, null], // an owner nobody knows: fails in the merge
      ['SN-DUPF-1', 'M', '13900139301', null, null, null],
      ['SN-DUPF-2', 'M', '13800139302', '好', null, null],
      ['SN-DUPF-2', 'M', '13800139302', '好', null, null],
    ]), 'devices');
    expect(s).toMatchObject({ status: 'PARTIAL', imported: 1, failed: 3 });
    expect(lines.map((l) => l.status)).toEqual(['FAILED', 'FAILED', 'IMPORTED', 'FAILED']);
    expect(dupError(lines[1])).toBe('repeats row 2 (the same values); row 2 failed (UNRESOLVED_REFERENCE), so neither was imported; fix row 2 and delete this one');
    expect(lines[1].error).toBe(dupError(lines[1]));
    expect(dupError(lines[3])).toBe('repeats row 4 (the same values); the row is imported once, from row 4');
  });

  it('dry run, --atomic and an earlier import: would be imported / was not imported either / UNCHANGED', async () => {
    const rows = [['SN-DUPO-1', 'M', '13800139311', '好', null, null], ['SN-DUPO-1', 'M', '13800139311', '好', null, null], ['SN-DUPO-2', 'M', '13800139312', '好', 'not a date', null]];
    const file = await deviceWorkbook('dup-outcomes.xlsx', rows);
    expect(dupError((await run(file, 'devices', { dryRun: true })).lines[1])).toMatch(/; the row would be imported once, from row 2$/);
    expect(dupError((await run(file, 'devices', { atomic: true })).lines[1])).toMatch(/; row 2 was not imported either/);
    await run(file, 'devices');
    expect(dupError((await run(file, 'devices')).lines[1])).toMatch(/; row 2 was imported before \(UNCHANGED\); nothing to import$/);
  });
});
