import { createReadStream, createWriteStream, promises as fs } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { pipeline } from 'stream/promises';
import { createGzip } from 'zlib';
import type { MikroORM } from '@mikro-orm/postgresql';
import { sqlOne, sqlRows } from '../db/sql';
import { isBigintId } from '../util/bigint-id';
import { logger } from '../logging/logger';
import type { ExcelImporter, ImportSummary } from './importer';

export interface JobRequest {
  template: string;
  fileName: string;
  /** The uploaded file (a temp file this runner deletes when done). */
  path: string;
  atomic: boolean;
  dryRun: boolean;
  /** false: queue none of the template's pushes. Default true. */
  push?: boolean;
  createdBy: string;
}

export interface ExcelJobRow {
  id: string;
  template: string;
  file_name: string;
  status: string;
  atomic: boolean;
  dry_run: boolean;
  total_rows: number | null;
  processed: number;
  imported: number;
  unchanged: number;
  failed: number;
  pushed: number;
  error: unknown;
  headers: string[] | null;
  created_by: string;
  created_at: Date | string;
  started_at: Date | string | null;
  finished_at: Date | string | null;
  has_result: boolean;
}

const JOB_COLUMNS = `id, template, file_name, status, atomic, dry_run, total_rows, processed, imported, unchanged, failed, pushed, error, headers,
  created_by, created_at, started_at, finished_at, result is not null as has_result`;

export async function findJob(orm: MikroORM, id: string): Promise<ExcelJobRow | null> {
  if (!isBigintId(id)) return null; // an id beyond bigint cannot be a job's
  return sqlOne<ExcelJobRow>(orm, `select ${JOB_COLUMNS} from excel_job where id = ?`, [id]);
}

/** The stored result (gzip JSON Lines), or null. */
export async function jobResult(orm: MikroORM, id: string): Promise<Buffer | null> {
  const row = await sqlOne<{ result: Buffer | null }>(orm, `select result from excel_job where id = ?`, [id]);
  return row?.result ?? null;
}

/**
 * Runs HTTP imports in this process, one at a time, recording progress, counts, error and the
 * gzipped result in excel_job so any gateway can answer `excelJob(id)` and serve the result.
 * (The BullMQ worker for Excel jobs is a later step: a job whose gateway stops mid-way stays
 * RUNNING; importing the file again is safe, rows already imported are UNCHANGED.)
 */
export class ExcelJobRunner {
  private chain: Promise<void> = Promise.resolve();
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly orm: MikroORM, private readonly importer: ExcelImporter, private readonly progressEveryMs = 500) {}

  async submit(req: JobRequest): Promise<string> {
    const row = await sqlOne<{ id: string }>(this.orm,
      `insert into excel_job (template, file_name, atomic, dry_run, created_by) values (?, ?, ?, ?, ?) returning id`,
      [req.template, req.fileName, req.atomic, req.dryRun, req.createdBy]);
    const id = String(row!.id);
    const run = (this.chain = this.chain.then(() => this.execute(id, req)).catch((e) => {
      logger.error('excel job failed unexpectedly', { job: id, message: (e as Error)?.message });
    }));
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
    return id;
  }

  /** Resolves when every submitted job has finished (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running.size) await Promise.all([...this.running]);
  }

  private async execute(id: string, req: JobRequest): Promise<void> {
    const resultPath = join(tmpdir(), `junction-excel-job-${id}-${process.pid}.jsonl`);
    let lastWrite = 0;
    let summary: ImportSummary | null = null;
    try {
      await sqlRows(this.orm, `update excel_job set status = 'RUNNING', started_at = now() where id = ?`, [id]);
      summary = await this.importer.run({
        template: req.template, path: req.path, fileName: req.fileName, atomic: req.atomic, dryRun: req.dryRun, push: req.push,
        actor: { name: req.createdBy, origin: 'excel' }, jobId: id, resultPath,
        onStart: (s) => {
          void sqlRows(this.orm, `update excel_job set headers = ?::jsonb, total_rows = ? where id = ?`, [JSON.stringify(s.headers), s.expectedRows, id]).catch(() => undefined);
        },
        onProgress: (p) => {
          const now = Date.now();
          if (now - lastWrite < this.progressEveryMs) return;
          lastWrite = now;
          void sqlRows(this.orm, `update excel_job set processed = ?, imported = ?, unchanged = ?, failed = ? where id = ? and status = 'RUNNING'`,
            [p.processed, p.imported, p.unchanged, p.failed, id]).catch(() => undefined);
        },
      });
      const gz = await gzipFile(resultPath);
      await sqlRows(this.orm,
        `update excel_job set status = ?, total_rows = coalesce(?, total_rows), processed = ?, imported = ?, unchanged = ?, failed = ?, pushed = ?, error = ?::jsonb,
                headers = coalesce(?::jsonb, headers), result = ?, finished_at = now() where id = ?`,
        [summary.status, summary.expectedRows || null, summary.processed, summary.imported, summary.unchanged, summary.failed, summary.pushed,
          summary.error ? JSON.stringify(summary.error) : null, summary.headers.length ? JSON.stringify(summary.headers) : null, gz, id]);
    } catch (e) {
      // excel_job.error is read by batch clients (excelJob, /excel/jobs/:id): a stable code and a plain
      // message. The raw text (a driver's message embeds the SQL and its values) goes to the log only.
      logger.error('excel job failed unexpectedly', { job: id, file: req.fileName, message: (e as Error)?.message ?? String(e), stack: (e as Error)?.stack });
      await sqlRows(this.orm, `update excel_job set status = 'FAILED', error = ?::jsonb, finished_at = now() where id = ?`,
        [JSON.stringify(unexpectedJobError(id, req.fileName)), id]).catch(() => undefined);
    } finally {
      await fs.rm(resultPath, { force: true });
      await fs.rm(req.path, { force: true });
    }
  }
}

/** What a job that failed for an unexpected reason (not the file's) shows: no raw error text. */
export function unexpectedJobError(id: string, fileName: string) {
  return {
    code: 'INTERNAL', file: fileName, sheet: null, row: null, column: null,
    message: `${fileName}: the import failed unexpectedly (not because of the file); the operator log has the cause (Excel job ${id})`,
  };
}

async function gzipFile(path: string): Promise<Buffer> {
  const out = `${path}.gz`;
  try {
    await pipeline(createReadStream(path), createGzip({ level: 6 }), createWriteStream(out));
    return await fs.readFile(out);
  } finally {
    await fs.rm(out, { force: true });
  }
}
