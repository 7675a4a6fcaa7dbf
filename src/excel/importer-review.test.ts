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
