import { Entity, Index, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * One Excel row that was imported, by the hash of its normalized values: importing the same row
 * again (the same file twice, or the row copied into another file) changes nothing. Only rows that
 * took effect are kept; a row that failed can be imported again once fixed.
 */
@Entity({ tableName: 'excel_row' })
export class ExcelRow {
  /** The first 64 bits of rowHash as a signed bigint (src/excel/row-key.ts); template and rowHash are checked on a hit. */
  @PrimaryKey({ type: 'bigint', autoincrement: false })
  rowKey!: string;

  @Property({ type: 'string', columnType: 'text' })
  template!: string;

  /** First 32 hex digits of sha256 over the template name and the row's normalized values. */
  @Property({ type: 'string', columnType: 'text' })
  rowHash!: string;

  /** The excel_job that first imported it (null for a CLI import, which has no job row). */
  @Property({ type: 'bigint', nullable: true })
  jobId?: string | null;

  /** Where it was first seen: file name, sheet, row number (1-based, as Excel shows it). */
  @Property({ type: 'string', columnType: 'text' })
  fileName!: string;

  @Property({ type: 'string', columnType: 'text' })
  sheet!: string;

  @Property({ type: 'integer' })
  rowNumber!: number;

  /** IMPORTED (merged into golden records) or CREATED (a ticket was created). */
  @Property({ type: 'string', columnType: 'text' })
  status!: string;

  /** What the row became, e.g. ticket + T20261123-0001. */
  @Property({ type: 'string', columnType: 'text', nullable: true })
  entityType?: string | null;

  @Property({ type: 'string', columnType: 'text', nullable: true })
  entityId?: string | null;

  @Property({ type: 'Date', columnType: 'timestamptz', defaultRaw: 'now()' })
  createdAt: Date = new Date();
}

/** An Excel import started over HTTP: its progress, counts, error and result (gzip JSON Lines). */
@Entity({ tableName: 'excel_job' })
@Index({ name: 'excel_job_created_idx', properties: ['createdAt'] })
export class ExcelJob {
  @PrimaryKey({ type: 'bigint', autoincrement: true })
  id!: string;

  @Property({ type: 'string', columnType: 'text' })
  template!: string;

  @Property({ type: 'string', columnType: 'text' })
  fileName!: string;

  /** QUEUED, RUNNING, SUCCEEDED, PARTIAL (some rows failed), FAILED (nothing imported). */
  @Property({ type: 'string', columnType: 'text', default: 'QUEUED' })
  status: string = 'QUEUED';

  @Property({ type: 'boolean', default: false })
  atomic: boolean = false;

  @Property({ type: 'boolean', default: false })
  dryRun: boolean = false;

  /** Data rows the sheet holds (known after the file checks), for progress. */
  @Property({ type: 'integer', nullable: true })
  totalRows?: number | null;

  @Property({ type: 'integer', default: 0 }) processed: number = 0;
  @Property({ type: 'integer', default: 0 }) imported: number = 0;
  @Property({ type: 'integer', default: 0 }) unchanged: number = 0;
  @Property({ type: 'integer', default: 0 }) failed: number = 0;
  /** Pushes queued on to legacy systems (the template's `push` targets) for the imported rows. */
  @Property({ type: 'integer', default: 0 }) pushed: number = 0;

  /** Why the whole file was refused: { code, message, file, sheet, row, column }. */
  @Property({ type: 'json', columnType: 'jsonb', nullable: true })
  error?: unknown;

  /** The file's headers in column order (the result workbook repeats them). */
  @Property({ type: 'json', columnType: 'jsonb', nullable: true })
  headers?: unknown;

  /** The per-row result as gzip-compressed JSON Lines (any gateway can serve it). */
  @Property({ type: 'blob', columnType: 'bytea', nullable: true, lazy: true })
  result?: Buffer | null;

  @Property({ type: 'string', columnType: 'text' })
  createdBy!: string;

  @Property({ type: 'Date', columnType: 'timestamptz', defaultRaw: 'now()' })
  createdAt: Date = new Date();

  @Property({ type: 'Date', columnType: 'timestamptz', nullable: true })
  startedAt?: Date | null;

  @Property({ type: 'Date', columnType: 'timestamptz', nullable: true })
  finishedAt?: Date | null;
}
