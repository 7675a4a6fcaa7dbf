/**
 * The job runner against a real database: a job that fails for an unexpected reason (here a real
 * SQL error from PostgreSQL through MikroORM) shows batch clients a stable code and a plain
 * message, never the driver's text with its SQL and values; the raw text goes to the log.
 */
import { writeFileSync } from 'fs';
import { sqlRows } from '../db/sql';
import { logger } from '../logging/logger';
import { useTestDatabase } from '../../tests/support/databases';
import { scratchDir } from '../../tests/support/excel';
import type { ExcelImporter } from './importer';
import { ExcelJobRunner, findJob } from './jobs';

const db = useTestDatabase();
const dir = scratchDir();
afterAll(() => dir.remove());

describe('ExcelJobRunner', () => {
  it('a job that fails on a database error stores code INTERNAL and a plain message, without the SQL', async () => {
    // An importer whose work hits a real PostgreSQL error (a value that is not a number).
    const importer = {
      run: () => sqlRows(db.orm, `insert into excel_job (template, file_name, atomic, dry_run, created_by) values (?, ?, ?, ?, ?)`,
        ['devices', 'secret-value-13800138000', 'not-a-boolean', false, 'x']),
    } as unknown as ExcelImporter;
    const logged: unknown[] = [];
    const spy = jest.spyOn(logger, 'error').mockImplementation((...args: unknown[]) => { logged.push(args); });
    try {
      const runner = new ExcelJobRunner(db.orm, importer);
      const path = dir.file('upload.xlsx');
      writeFileSync(path, 'x');
      const id = await runner.submit({ template: 'devices', fileName: 'f.xlsx', path, atomic: false, dryRun: false, createdBy: 'test' });
      await runner.idle();
      const job = (await findJob(db.orm, id))!;
      expect(job.status).toBe('FAILED');
      expect(job.error).toMatchObject({ code: 'INTERNAL', file: 'f.xlsx' });
      const text = JSON.stringify(job.error);
      expect(text).toMatch(/f\.xlsx: the import failed unexpectedly/);
      expect(text).not.toMatch(/insert into|select |excel_job|secret-value|not-a-boolean/i);
      // the cause is in the operator log
      expect(JSON.stringify(logged)).toMatch(/insert into/i);
    } finally {
      spy.mockRestore();
    }
  });
});
