import { hash } from 'crypto';
import { promises as fs } from 'fs';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { sqlRows } from '../db/sql';
import { JunctionError } from '../errors/codes';
import { evaluateEither, type CompiledMapping, type MappingEngine } from '../mapping/engine';
import { MappingError } from '../mapping/errors';
import { CanonicalRecord, RecordError } from '../sync/canonical';
import { CREATED_FIELD, MergeItem, Merger } from '../sync/merge';
import { suggestSerials } from '../identity/suggest';
import type { Actor, CreateTicketInput, TicketService } from '../tickets/ticket-service';
import { logger } from '../logging/logger';
import { FileRows } from './dedupe';
import { KeyFilter } from './key-filter';
import { withImportHeap } from './heap';
import { PushRow, queuePushes } from './push';
import { ExcelFileError } from './errors';
import { claimRows, findImported, releaseRows, type Where } from './row-claims';
import { rowKey } from './row-key';
import { FillResult, fillFromMasterData } from './master-data';
import { OpenOptions, ParsedRow, RowError, SheetReader } from './reader';
import { LineWriter, readLines, restatus, ResultLine, rewriteLines, RowStatus } from './results';
import { fieldLabel, mergeRecords, recordErrorToRow, ticketField, ticketRecord } from './rows';
import { ExcelTemplate, loadTemplate } from './template';

export interface ImportRequest {
  template: string | ExcelTemplate;
  /** The file on disk. */
  path: string;
  /** The name people know the file by (upload name): used in errors, lineage and results. */
  fileName: string;
  /** All or nothing: one row with an error and nothing is imported. */
  atomic?: boolean;
  /** Check everything, write nothing. */
  dryRun?: boolean;
  /** false: queue none of the template's pushes (`--no-push`). Default true. */
  push?: boolean;
  actor: Actor;
  /** excel_job id when the import runs as a job. */
  jobId?: string | null;
  /** Where the result JSON Lines go. */
  resultPath: string;
  batchSize?: number;
  limits?: OpenOptions;
  onProgress?: (p: ImportProgress) => void;
  /** The headers and sheet are known (before the first row is imported). */
  onStart?: (info: { sheet: string; headers: string[]; expectedRows: number }) => void;
}

export interface ImportProgress {
  /** Rows the sheet has, roughly (known after the file checks). */
  expectedRows: number;
  processed: number;
  imported: number;
  unchanged: number;
  failed: number;
}

export type ImportStatus = 'SUCCEEDED' | 'PARTIAL' | 'FAILED';

export interface ImportSummary extends ImportProgress {
  template: string;
  file: string;
  sheet: string | null;
  headers: string[];
  status: ImportStatus;
  /** Whether the import's writes were committed (false: dry run, --atomic with errors, or a refused file). */
  committed: boolean;
  atomic: boolean;
  dryRun: boolean;
  error: ReturnType<ExcelFileError['toJSON']> | null;
  resultPath: string;
  durationMs: number;
  /** Pushes queued on to the template's `push` targets (write-backs), committed with the rows. */
  pushed: number;
}

/** One row on its way through an import. */
interface Work {
  parsed: ParsedRow;
  status: RowStatus;
  /** The standard JSON: canonical records flattened to { entity, ...fields }. */
  records: unknown[];
  canonical?: CanonicalRecord[];
  filled: string[];
  ticket?: string | null;
  input?: CreateTicketInput;
}

/** A batch mapped ahead of its merge: `todo` its rows to merge, `original` their fields before the fill. */
interface Prepared {
  work: Work[];
  todo: Work[];
  original: Array<Record<string, unknown>>;
}

/** The same fields filled with the same values. */
function sameFill(filledA: string[], filledB: string[], a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  if (filledA.length !== filledB.length) return false;
  for (let i = 0; i < filledA.length; i++) {
    const f = filledA[i];
    if (f !== filledB[i]) return false;
    if (a[f] !== b[f] && JSON.stringify(a[f]) !== JSON.stringify(b[f])) return false;
  }
  return true;
}

const DEFAULT_BATCH = 2000;
/** Rows mapped between two turns of the event loop. */
const YIELD_EVERY = 50;

export class ExcelImporter {
  constructor(
    private readonly orm: MikroORM,
    private readonly engine: MappingEngine,
    private readonly tickets: TicketService,
  ) {}

  /** Imports a file. The CLI and the HTTP job both come here: the import's heap setting is applied here (see heap.ts). */
  run(req: ImportRequest): Promise<ImportSummary> {
    return withImportHeap(() => this.runImport(req));
  }

  private async runImport(req: ImportRequest): Promise<ImportSummary> {
    const started = Date.now();
    const summary: ImportSummary = {
      template: typeof req.template === 'string' ? req.template : req.template.name, file: req.fileName, sheet: null, headers: [],
      status: 'FAILED', committed: false, atomic: !!req.atomic, dryRun: !!req.dryRun, error: null, resultPath: req.resultPath,
      durationMs: 0, expectedRows: 0, processed: 0, imported: 0, unchanged: 0, failed: 0, pushed: 0,
    };
    const out = new LineWriter(req.resultPath);
    let run: ImportRun | null = null;
    try {
      const t = typeof req.template === 'string' ? loadTemplate(req.template) : req.template;
      const mapping = this.engine.get(t.mapping); // a mapping that does not compile fails before anything is read
      if (req.push !== false) for (const p of t.push ?? []) this.engine.get(`${p.mapping}.out`); // nor does an outbound one
      const reader = await SheetReader.open(req.path, req.fileName, t, req.limits);
      summary.sheet = reader.sheet.name;
      summary.expectedRows = reader.expectedRows;
      run = new ImportRun(this, t, mapping, reader, req, summary, out);
      if (t.target === 'merge') await run.merge();
      else await run.tickets();
    } catch (e) {
      const err = asFileError(e, req.fileName, summary.sheet);
      // Not a refused file but something unexpected: the operator needs the cause and where it came from.
      if (err.code === 'INTERNAL') {
        logger.error('excel import failed unexpectedly', { file: req.fileName, template: summary.template, message: (e as Error)?.message ?? String(e), stack: (e as Error)?.stack });
      }
      summary.error = err.toJSON();
      summary.committed = false;
    } finally {
      await out.close();
    }
    if (run?.retried.size) await replaceLines(req.resultPath, run.retried);
    if (!summary.committed && (summary.imported > 0 || summary.dryRun)) await restatus(req.resultPath, summary.dryRun ? 'VALID' : 'NOT_IMPORTED');
    if (run?.repeats.size) await tellRepeats(req.resultPath, run.repeats);
    if (!summary.committed && !summary.dryRun) summary.imported = 0;
    if (!summary.committed) summary.pushed = 0;
    if (summary.error) summary.status = 'FAILED';
    else if (summary.atomic && summary.failed > 0) {
      summary.status = 'FAILED';
      summary.error = new ExcelFileError('ROWS_FAILED', `${summary.failed} row${summary.failed === 1 ? '' : 's'} failed; with --atomic nothing was imported`, {
        file: req.fileName, sheet: summary.sheet,
      }).toJSON();
    } else if (summary.failed > 0 && summary.imported + summary.unchanged === 0) {
      // Every row failed: nothing was (dry run: would be) imported. PARTIAL would tell a batch job
      // (exit code 2) that the valid rows went in.
      summary.status = 'FAILED';
      summary.error = new ExcelFileError('ROWS_FAILED', `${summary.failed === 1 ? 'the only row' : `all ${summary.failed} rows`} failed; nothing ${summary.dryRun ? 'would be' : 'was'} imported`, {
        file: req.fileName, sheet: summary.sheet,
      }).toJSON();
    } else summary.status = summary.failed > 0 ? 'PARTIAL' : 'SUCCEEDED';
    summary.durationMs = Date.now() - started;
    return summary;
  }

  /** @internal */
  get db(): MikroORM {
    return this.orm;
  }

  /** @internal */
  get ticketService(): TicketService {
    return this.tickets;
  }
}

/** Puts the final result of rows merged again at the end of the file (see ImportRun.retryDeferred) in their place. */
function replaceLines(path: string, lines: Map<number, ResultLine>): Promise<void> {
  return rewriteLines(path, (l) => lines.get(l.row) ?? l);
}

/**
 * A DUPLICATE_ROW's message says what became of the row it repeats, which is known only once the
 * file is done (that row may fail in its merge or ticket creation, or be rolled back). One pass:
 * the repeated row comes first in the file.
 */
function tellRepeats(path: string, repeats: Map<number, number>): Promise<void> {
  const firsts = new Set(repeats.values());
  const outcome = new Map<number, ResultLine>();
  return rewriteLines(path, (l) => {
    if (firsts.has(l.row)) outcome.set(l.row, l);
    const prev = repeats.get(l.row);
    if (prev !== undefined) {
      const first = outcome.get(prev);
      l.errors = l.errors.map((e) => (e.code === 'DUPLICATE_ROW' ? { ...e, message: `repeats row ${prev} (the same values); ${repeatOutcome(prev, first)}` } : e));
      l.error = l.errors.length ? l.errors.map((e) => e.message).join('; ') : null;
    }
    return l;
  });
}

function repeatOutcome(prev: number, first: ResultLine | undefined): string {
  switch (first?.status) {
    case 'IMPORTED': return `the row is imported once, from row ${prev}`;
    case 'VALID': return `the row would be imported once, from row ${prev}`;
    case 'UNCHANGED': return `row ${prev} was imported before (UNCHANGED); nothing to import`;
    case 'NOT_IMPORTED': return `row ${prev} was not imported either (nothing of the file was)`;
    case 'FAILED': return `row ${prev} failed (${first.errors.map((e) => e.code).join(', ') || 'see its error'}), so neither was imported; fix row ${prev} and delete this one`;
    default: return `row ${prev} has no result (the file was refused before it was read)`;
  }
}

/** Rows refused only for a reference no earlier row resolved, held for a retry at the end of the file (at most). */
const DEFER_MAX = 10_000;

function asFileError(e: unknown, file: string, sheet: string | null): ExcelFileError {
  if (e instanceof ExcelFileError) return e;
  if (e instanceof MappingError) return new ExcelFileError('INTERNAL', e.message, { file, sheet });
  // The raw text (a driver's message embeds the SQL and its values) goes to the log (runImport), not
  // to the job's error that batch clients read.
  return new ExcelFileError('INTERNAL', 'the import failed unexpectedly; nothing was imported (the operator log has the cause)', { file, sheet });
}

/** The error code a row gets for a failure that is not about its values (a database or program error). */
export const ROW_INTERNAL_ERROR = 'INTERNAL_ERROR';


class ImportRun {
  private readonly seen: FileRows;
  /** Serials and phones the file's merged batches wrote (see confirm). */
  private readonly written = new KeyFilter();
  private readonly at = new Date().toISOString();
  private readonly batchSize: number;
  /**
   * Rows the merge refused only with UNRESOLVED_REFERENCE (an owner phone no customer has yet): a
   * later row of the file may describe that customer (in one batch the merger would have resolved
   * it), so they are merged again once every batch is, and counted then. At most DEFER_MAX rows.
   */
  private readonly deferred: Work[] = [];
  /** The result lines of the deferred rows, after their retry (runImport puts them in place). */
  readonly retried = new Map<number, ResultLine>();
  /** DUPLICATE_ROW rows → the row they repeat (their messages are finished once the file is: tellRepeats). */
  readonly repeats = new Map<number, number>();

  constructor(
    private readonly importer: ExcelImporter,
    private readonly t: ExcelTemplate,
    private readonly mapping: CompiledMapping,
    private readonly reader: SheetReader,
    private readonly req: ImportRequest,
    private readonly summary: ImportSummary,
    private readonly out: LineWriter,
  ) {
    this.batchSize = req.batchSize ?? DEFAULT_BATCH;
    this.seen = new FileRows(reader.expectedRows);
  }

  /** Where this file's rows are claimed from (excel_row; row-key collisions name it). */
  private get where(): Where {
    return { template: this.t.name, file: this.req.fileName, sheet: this.reader.sheet.name };
  }

  private externalId(row: number): string {
    return `${this.req.fileName}#${this.reader.sheet.name}!${row}`;
  }

  /** Pushes are queued with the rows they carry; a dry run or --no-push queues none. */
  private get pushing(): boolean {
    return !!this.t.push?.length && this.req.push !== false && !this.summary.dryRun;
  }

  private queuePushes(em: EntityManager, rows: PushRow[]): Promise<number> {
    if (!this.pushing) return Promise.resolve(0);
    return queuePushes(em, this.t, { file: this.req.fileName, sheet: this.reader.sheet.name, at: this.at }, rows);
  }

  /** The record a row is about, for ordering its pushes: the template key values, else the row itself. */
  private recordKey(r: ParsedRow): string {
    const keys = this.t.key ?? [];
    return keys.length && keys.every((k) => r.fields[k] !== null) ? keys.map((k) => String(r.fields[k])).join('/') : r.hash;
  }

  private started = false;
  private start(): void {
    if (this.started || !this.reader.header) return;
    this.started = true;
    this.summary.headers = this.reader.header.headers;
    this.req.onStart?.({ sheet: this.reader.sheet.name, headers: this.summary.headers, expectedRows: this.reader.expectedRows });
  }

  /** In-file repeats: the same values twice, or the same key (serial, phone) with other values. */
  private dedupe(rows: ParsedRow[]): void {
    const keys = this.t.key ?? [];
    for (const r of rows) {
      if (r.errors.length) continue;
      const keyed = keys.length > 0 && keys.every((k) => r.fields[k] !== null);
      const repeat = this.seen.check(r.hash, keyed ? hash('sha256', keys.map((k) => String(r.fields[k])).join('\u0001'), 'hex') : null, r.row);
      if (!repeat) continue;
      const prev = repeat.row;
      if (repeat.kind === 'row') {
        // What became of row `prev` is said once the file is done (tellRepeats).
        r.errors.push({ code: 'DUPLICATE_ROW', message: `repeats row ${prev} (the same values)` });
        this.repeats.set(r.row, prev);
      } else {
        const where = fieldLabel(this.t, this.reader.header, keys[0]);
        r.errors.push({
          code: 'DUPLICATE_KEY', field: keys[0], column: where.column, header: where.header,
          message: `${where.label}: ${keys.map((k) => r.fields[k]).join(' / ')} is also in row ${prev} with other values; keep one row for it`,
        });
      }
    }
  }

  /** Fill from master data, then the template's mapping; failures become row errors. */
  private async mapRows(db: MikroORM | EntityManager, rows: ParsedRow[]): Promise<Work[]> {
    const work = rows.map((r): Work => ({ parsed: r, status: r.errors.length ? 'FAILED' : 'IMPORTED', records: [], filled: [] }));
    await this.fillAndMap(db, work.filter((w) => w.status === 'IMPORTED'));
    return work;
  }

  /** `todo`: rows without errors. Fills their empty values from master data, then maps them. */
  private async fillAndMap(db: MikroORM | EntityManager, todo: Work[]): Promise<void> {
    const rows = todo.map((w) => w.parsed);
    const fill = await fillFromMasterData(db, this.t, rows);
    const suggestions = this.t.target === 'tickets' ? await this.serialSuggestions(db, rows, fill) : new Map<string, string>();
    for (let i = 0; i < todo.length; i++) {
      // A mapping that never waits resolves in microtasks, which starve I/O: let the merge of the
      // batch before this one (its statements' answers) go on every few rows.
      if (i % YIELD_EVERY === YIELD_EVERY - 1) await new Promise<void>((resolve) => setImmediate(resolve));
      todo[i].filled = fill.filled[i];
      await this.mapOne(todo[i], fill.found[i], suggestions);
    }
  }

  private async mapOne(w: Work, found: FillResult['found'][number], suggestions: Map<string, string>): Promise<void> {
    const r = w.parsed;
    try {
      const either = evaluateEither(this.mapping, r.fields, {
        externalId: this.externalId(r.row), version: r.hash, system: 'excel', connector: 'excel', stream: this.t.name,
        file: this.req.fileName, sheet: this.reader.sheet.name, row: r.row,
      });
      const output = either instanceof Promise ? await either : either;
      if (this.t.target === 'merge') {
        w.canonical = mergeRecords(output);
        w.records = w.canonical.map((c) => ({ entity: c.entity, ...c.fields }));
      }
      else {
        const { record, input } = ticketRecord(output);
        w.records = [record];
        w.input = input;
        this.checkTicketParties(w, found, suggestions);
      }
    } catch (e) {
      r.errors.push(e instanceof MappingError
        ? { code: e.code, message: `the ${this.t.name} mapping failed for this row: ${e.message}` }
        : e instanceof RecordError ? recordErrorToRow(this.t, this.reader.header, e) : this.internalError(r.row, e));
    }
    if (r.errors.length) w.status = 'FAILED';
  }

  /** The ticket service's own checks, run for the whole batch up front so a dry run reports them. */
  /**
   * The same check as createTicket: a serial master data does not have gets the closest known
   * serials (within the row's model family when it gives a model) in its error message.
   */
  private async serialSuggestions(db: MikroORM | EntityManager, rows: ParsedRow[], fill: { found: Array<Partial<Record<'device' | 'customer', unknown>>> }) {
    const out = new Map<string, string>();
    for (let i = 0; i < rows.length; i++) {
      const f = rows[i].fields;
      if (rows[i].errors.length || typeof f.serial !== 'string' || fill.found[i].device) continue;
      const model = typeof f.model === 'string' ? f.model : null;
      const key = `${f.serial}\u0000${model ?? ''}`;
      if (out.has(key)) continue;
      const list = await suggestSerials(db, f.serial, { model });
      out.set(key, list.length ? `; closest known serials: ${list.map((s) => `${s.serial}${s.model ? ` (${s.model})` : ''}`).join(', ')}` : '');
    }
    return out;
  }

  private checkTicketParties(w: Work, found: Partial<Record<'device' | 'customer', Record<string, unknown> | null>>, suggestions: Map<string, string>): void {
    const f = w.parsed.fields;
    const err = (field: string, code: string, text: string) => {
      const where = fieldLabel(this.t, this.reader.header, field);
      w.parsed.errors.push({ code, message: `${where.label}: ${text}`, column: where.column, header: where.header, field });
    };
    if (f.serial !== null && !found.device) {
      const hint = suggestions.get(`${f.serial}\u0000${typeof f.model === 'string' ? f.model : ''}`) ?? '';
      return err('serial', 'UNKNOWN_SERIAL', `no device ${f.serial} in master data${hint}`);
    }
    if (f.phone !== null && !found.customer) return err('phone', 'NOT_FOUND', `no customer with phone ${f.phone} in master data`);
    if (found.device && f.phone === null) return err('phone', 'MISSING_VALUE', `device ${f.serial} has no known owner; give the customer's phone`);
    const owner = found.device?.ownerPhone;
    if (owner && f.phone !== owner) return err('serial', 'CONFLICT', `device ${f.serial} belongs to the customer with phone ${owner}, not ${f.phone}`);
  }

  private line(w: Work): ResultLine {
    const r = w.parsed;
    const values: ResultLine['values'] = {};
    const headers = this.summary.headers;
    for (let i = 0; i < headers.length; i++) if (headers[i]) values[headers[i]] = r.cells[i] ?? null;
    return {
      file: this.req.fileName, sheet: this.reader.sheet.name, row: r.row, status: w.status,
      error: r.errors.length ? r.errors.map((e) => e.message).join('; ') : null, errors: r.errors,
      values, records: w.records, filled: w.filled, ...(w.ticket !== undefined ? { ticket: w.ticket } : {}),
    };
  }

  private count(work: Work[]): void {
    for (const w of work) {
      this.summary.processed++;
      if (w.status === 'FAILED') this.summary.failed++;
      else if (w.status === 'UNCHANGED') this.summary.unchanged++;
      else this.summary.imported++;
    }
    this.req.onProgress?.({
      expectedRows: this.summary.expectedRows, processed: this.summary.processed, imported: this.summary.imported,
      unchanged: this.summary.unchanged, failed: this.summary.failed,
    });
  }

  // ---- customers, devices: the sync's merge, one transaction for the whole file --------------------

  /**
   * A pipeline one batch deep: while batch n is merged (PostgreSQL works), batch n+1 is read,
   * checked against the rows imported before, filled from master data and mapped, and batch n-1's
   * result lines are written. The whole file is one transaction, so a file refused part way
   * (damaged, too many empty rows) leaves nothing behind; rows with errors are left out (savepoint
   * per batch, per row on a database error); --atomic and --dry-run roll back at the end.
   */
  async merge(): Promise<void> {
    const em = this.importer.db.em.fork();
    await em.begin();
    // The batch being merged; its result lines are written once the next one's merge has started.
    let inflight: { work: Work[]; merged: Promise<void> } | null = null;
    let prep: Promise<Prepared> | null = null;
    let failure: unknown = null;
    const lines = (work: Work[]) => this.out.write(work.map((w) => this.line(w)));
    try {
      for await (const batch of this.reader.batches(this.batchSize)) {
        this.start();
        this.dedupe(batch);
        prep = this.prepare(batch);
        prep.catch(() => undefined);
        if (inflight) await inflight.merged;
        const p = await prep;
        prep = null;
        await this.confirm(em, p);
        const done = inflight;
        inflight = { work: p.work, merged: this.mergeBatch(em, p.work) };
        inflight.merged.catch(() => undefined);
        if (done) await lines(done.work);
      }
      this.start();
      if (inflight) {
        await inflight.merged;
        const done = inflight;
        inflight = null;
        await lines(done.work);
      }
      await this.retryDeferred(em);
    } catch (e) {
      failure = e;
      await prep?.catch(() => undefined);
      // A file refused part way still reports the rows read before (restatus marks them NOT_IMPORTED).
      if (inflight && await inflight.merged.then(() => true, () => false)) await lines(inflight.work).catch(() => undefined);
    }
    const keep = !failure && !this.summary.dryRun && !(this.summary.atomic && this.summary.failed > 0);
    if (keep) {
      await em.commit();
      this.summary.committed = true;
    } else await em.rollback();
    if (failure) throw failure;
  }

  /**
   * Ahead of its turn, outside the file's transaction (it may run while an earlier batch is
   * merged): rows imported by an earlier file are UNCHANGED and need nothing more (their hashes
   * are claimed, committed; the claim in applyMerge stays the authority), the others are filled
   * from committed master data and mapped. `confirm` then fills again inside the transaction.
   */
  private async prepare(rows: ParsedRow[]): Promise<Prepared> {
    const db = this.importer.db;
    const work = rows.map((r): Work => ({ parsed: r, status: r.errors.length ? 'FAILED' : 'IMPORTED', records: [], filled: [] }));
    const candidates = work.filter((w) => w.status === 'IMPORTED');
    if (candidates.length) {
      const { done, collisions } = await findImported(db, this.where, candidates.map((w) => w.parsed));
      for (const w of candidates) {
        if (done.has(w.parsed.hash)) w.status = 'UNCHANGED';
        const e = collisions.get(w.parsed.hash);
        if (e) this.failRow(w, e);
      }
    }
    const todo = candidates.filter((w) => w.status === 'IMPORTED');
    const original = todo.map((w) => ({ ...w.parsed.fields }));
    await this.fillAndMap(db, todo);
    return { work, todo, original };
  }

  /**
   * The fill as the transaction sees it now (earlier batches of this file merged: a customer a
   * row created, a name it changed), for the rows whose lookup keys (serial, phone: as read, and
   * as filled) an earlier batch may have written (`written`, a Bloom filter). The other rows keep
   * the fill they read from committed data while the previous batch merged: nothing of this file
   * changed what they look up. Rows whose fill differs from the one `prepare` mapped with are
   * mapped again; the others keep their mapping.
   */
  private async confirm(em: EntityManager, p: Prepared): Promise<void> {
    if (!p.todo.length || !this.t.fill?.length) return;
    const rules = this.t.fill;
    const touched = (i: number) => rules.some((r) => [p.original[i][r.by], p.todo[i].parsed.fields[r.by]].some((v) => typeof v === 'string' && this.written.mightHave(v)));
    const which = p.todo.map((_, i) => i).filter(touched);
    if (!which.length) return;
    const again = which.map((i): ParsedRow => ({ ...p.todo[i].parsed, errors: [], fields: { ...p.original[i] } }));
    const fill = await fillFromMasterData(em, this.t, again);
    for (let i = 0; i < which.length; i++) {
      const w = p.todo[which[i]];
      if (sameFill(w.filled, fill.filled[i], w.parsed.fields, again[i].fields)) continue;
      w.parsed.fields = again[i].fields;
      w.parsed.errors = [];
      w.status = 'IMPORTED';
      w.records = [];
      w.canonical = undefined;
      w.filled = fill.filled[i];
      await this.mapOne(w, fill.found[i], new Map());
    }
  }

  /**
   * The rows held for an owner a later row might describe, merged again now that every batch is
   * (the file's transaction sees all it wrote): the same outcome as if the whole file were one
   * batch. Their result lines are replaced after the file is written.
   */
  private async retryDeferred(em: EntityManager): Promise<void> {
    const rows = this.deferred.splice(0);
    if (!rows.length) return;
    // --atomic with a failed row: nothing is kept anyway; they stay FAILED as they are.
    if (!(this.summary.atomic && this.summary.failed > 0)) {
      const before = rows.map((w) => w.parsed.errors);
      for (const w of rows) {
        w.status = 'IMPORTED';
        w.parsed.errors = [];
      }
      await this.mergeBatch(em, rows, true);
      rows.forEach((w, i) => {
        if (w.status === 'FAILED' && !w.parsed.errors.length) w.parsed.errors = before[i];
        if (w.status !== 'FAILED' || JSON.stringify(w.parsed.errors) !== JSON.stringify(before[i])) this.retried.set(w.parsed.row, this.line(w));
      });
    }
    this.count(rows);
  }

  /** Merges the batch's mapped rows in a savepoint (per row when the database refuses the batch). */
  private async mergeBatch(em: EntityManager, work: Work[], retry = false): Promise<void> {
    const ready = work.filter((w) => w.status === 'IMPORTED');
    // --atomic: nothing more once a row failed (rows imported before, UNCHANGED, do not count).
    if (ready.length && !(this.summary.atomic && (this.summary.failed > 0 || work.some((w) => w.status === 'FAILED')))) {
      try {
        this.summary.pushed += await em.transactional((sp) => this.applyMerge(sp, ready));
      } catch (e) {
        if (ready.length === 1) this.failRow(ready[0], e);
        else {
          // Find the row the database refused: each on its own savepoint.
          for (const w of ready) {
            w.status = 'IMPORTED';
            w.parsed.errors = [];
            try {
              this.summary.pushed += await em.transactional((sp) => this.applyMerge(sp, [w]));
            } catch (err) {
              this.failRow(w, err);
            }
          }
        }
      }
    }
    if (retry) return;
    const held = new Set<Work>();
    for (const w of ready) {
      if (w.status === 'FAILED' && this.deferred.length < DEFER_MAX && w.parsed.errors.length && w.parsed.errors.every((e) => e.code === 'UNRESOLVED_REFERENCE')) {
        this.deferred.push(w);
        held.add(w);
      }
    }
    this.count(held.size ? work.filter((w) => !held.has(w)) : work);
  }

  private failRow(w: Work, e: unknown): void {
    w.status = 'FAILED';
    if (e instanceof ExcelFileError && e.code === 'ROW_KEY_COLLISION') w.parsed.errors.push({ code: e.code, message: e.message });
    else w.parsed.errors.push(this.internalError(w.parsed.row, e));
  }

  /**
   * A row's failure that is not about its values (the database refused it, a bug): the row result
   * (read by batch clients) gets a stable code and a plain message; the raw text, whose SQL carries
   * other rows' values, goes to the operator log with the file and row.
   */
  private internalError(row: number, e: unknown): RowError {
    logger.error('excel row failed unexpectedly', {
      file: this.req.fileName, template: this.t.name, sheet: this.reader.sheet.name, row, job: this.req.jobId ?? null,
      message: (e as Error)?.message ?? String(e), stack: (e as Error)?.stack,
    });
    return { code: ROW_INTERNAL_ERROR, message: `row ${row} could not be imported because of an unexpected error (not its values); the operator log has the cause` };
  }

  /**
   * Claim the row hashes (already claimed = UNCHANGED), merge the rest, release the claims of rows
   * that failed, queue the pushes of the rows merged. Returns the pushes queued.
   */
  private async applyMerge(em: EntityManager, ready: Work[]): Promise<number> {
    const mine = await claimRows(em, this.where, this.req.jobId ?? null, 'IMPORTED', ready.map((w) => w.parsed));
    const items: MergeItem[] = [];
    ready.forEach((w, index) => {
      if (!mine.has(w.parsed.hash)) {
        w.status = 'UNCHANGED';
        return;
      }
      for (const record of w.canonical ?? []) {
        // The merger replaces references by ids in place: give it its own copy of the fields.
        items.push({ index, externalId: this.externalId(w.parsed.row), version: w.parsed.hash, at: this.at, record: { entity: record.entity, fields: { ...record.fields } } });
      }
    });
    if (!items.length) return 0;
    const merger = new Merger(em, { connector: 'excel', system: 'excel', stream: this.t.name });
    const errors = await merger.merge(items);
    this.remember(ready.filter((w) => mine.has(w.parsed.hash)), merger);
    // Open tickets over the customers and devices this batch changed get their derived values again.
    await this.importer.ticketService.enricher.afterMerge(em, merger.audit, { name: this.req.actor.name, origin: `excel:${this.req.fileName}` });
    const released: string[] = [];
    for (const [index, e] of errors) {
      const w = ready[index];
      w.status = 'FAILED';
      w.parsed.errors.push(recordErrorToRow(this.t, this.reader.header, e));
      released.push(w.parsed.hash);
    }
    await releaseRows(em, released);
    const merged = ready.filter((w) => w.status === 'IMPORTED');
    return this.queuePushes(em, merged.map((w) => ({ row: w.parsed.row, hash: w.parsed.hash, key: this.recordKey(w.parsed), records: w.records })));
  }

  /**
   * What a merge may change for a later row's fill: the lookup keys of the rows it merges (as
   * filled, and the serials and phones of their records, owners included) and the serials and
   * phones its audit shows changing (a record renamed through its source link). After the merge
   * (a merge that throws rolls its savepoint back: nothing to remember); rows the merge refused
   * leave extra keys, which only cost a refill.
   */
  private remember(rows: Work[], merger: Merger): void {
    const add = (v: unknown) => {
      if (typeof v === 'string') this.written.add(v);
    };
    for (const w of rows) {
      for (const rule of this.t.fill ?? []) add(w.parsed.fields[rule.by]);
      for (const c of w.canonical ?? []) {
        add(c.fields.phone);
        add(c.fields.serial);
        const owner = c.fields.owner as Record<string, unknown> | null | undefined;
        if (owner && typeof owner === 'object') add(owner.phone);
      }
    }
    for (const a of merger.audit) {
      if (a.field === 'phone' || a.field === 'serial') {
        add(a.before);
        add(a.after);
      } else if (a.field === CREATED_FIELD && a.after && typeof a.after === 'object') {
        add((a.after as Record<string, unknown>).phone);
        add((a.after as Record<string, unknown>).serial);
      }
    }
  }

  // ---- tickets: check the whole file first, then create through the ticket service -----------

  /**
   * Phase 1 reads and checks every row (master data lookups only, nothing written) into a spool;
   * a file refused part way therefore leaves nothing behind. Phase 2 creates the tickets through
   * TicketService (number, SLA, history, audit), each row with its row-hash claim in one
   * transaction (--atomic: all rows in one), so a row is never created twice.
   */
  async tickets(): Promise<void> {
    const spoolPath = `${this.req.resultPath}.spool`;
    const spool = new LineWriter(spoolPath);
    try {
      try {
        for await (const batch of this.reader.batches(this.batchSize)) {
          this.start();
          this.dedupe(batch);
          const work = await this.mapRows(this.importer.db, batch);
          await this.markImported(work);
          await spool.write(work.map((w) => ({ ...this.line(w), _input: w.input, _hash: w.parsed.hash } as ResultLine)));
        }
        this.start();
      } finally {
        await spool.close();
      }
      let phase1Failed = 0;
      for await (const l of readLines(spoolPath)) if (l.status === 'FAILED') phase1Failed++;
      const create = !this.summary.dryRun && !(this.summary.atomic && phase1Failed > 0);
      if (create && this.summary.atomic) await this.createAtomic(spoolPath);
      else await this.createEach(spoolPath, create);
    } finally {
      await fs.rm(spoolPath, { force: true });
    }
  }

  /** Rows imported by an earlier file: UNCHANGED, with the ticket they made. */
  private async markImported(work: Work[]): Promise<void> {
    const ready = work.filter((w) => w.status === 'IMPORTED');
    if (!ready.length) return;
    const { done, collisions } = await findImported(this.importer.db, this.where, ready.map((w) => w.parsed));
    for (const w of ready) {
      if (done.has(w.parsed.hash)) {
        w.status = 'UNCHANGED';
        w.ticket = done.get(w.parsed.hash) ?? null;
      }
      const e = collisions.get(w.parsed.hash);
      if (e) this.failRow(w, e);
    }
  }

  private actor(row: number) {
    return { name: this.req.actor.name, origin: `excel:${this.externalId(row)}` };
  }

  /**
   * Claims the row hash and creates the ticket in the caller's transaction, with the row's pushes;
   * UNCHANGED when already claimed. Returns the pushes queued.
   */
  private async createOne(em: EntityManager, l: ResultLine & { _input?: CreateTicketInput; _hash?: string }): Promise<number> {
    const ref = { hash: l._hash!, row: l.row };
    const claimed = await claimRows(em, this.where, this.req.jobId ?? null, 'CREATED', [ref], 'ticket');
    if (!claimed.size) {
      const { done } = await findImported(em, this.where, [ref]);
      l.status = 'UNCHANGED';
      l.ticket = done.get(ref.hash) ?? null;
      return 0;
    }
    const input = { ...l._input!, eta: l._input!.eta ? new Date(l._input!.eta as unknown as string) : null };
    const { id, number } = await this.importer.ticketService.createIn(em, input, this.actor(l.row));
    const lineage = { system: 'excel', connector: 'excel', stream: this.t.name, externalId: this.externalId(l.row), at: this.at };
    const fields = ['fault', 'priority', 'category', 'eta', 'customer', 'device'];
    await sqlRows(em, `update ticket set lineage = ?::jsonb where id = ?`, [JSON.stringify(Object.fromEntries(fields.map((f) => [f, lineage]))), id]);
    await sqlRows(em, `update excel_row set entity_id = ? where row_key = ?`, [number, rowKey(ref.hash)]);
    l.ticket = number;
    (l.records[0] as Record<string, unknown>).number = number;
    return this.queuePushes(em, [{ row: l.row, hash: l._hash!, key: number, records: l.records, ticket: number }]);
  }

  private ticketError(l: ResultLine, e: unknown): void {
    const field = e instanceof JunctionError ? ticketField(e.details.field) : undefined;
    const where = field ? fieldLabel(this.t, this.reader.header, field) : null;
    const err: RowError = where
      ? { code: (e as JunctionError).code, message: `${where.label}: ${(e as Error).message}`, column: where.column, header: where.header, field }
      : e instanceof JunctionError || e instanceof RecordError || e instanceof ExcelFileError ? { code: e.code, message: e.message }
        : this.internalError(l.row, e);
    l.status = 'FAILED';
    l.errors = [...l.errors, err];
    l.error = l.errors.map((x) => x.message).join('; ');
  }

  private strip(l: ResultLine & { _input?: unknown; _hash?: unknown }): ResultLine {
    const { _input, _hash, ...line } = l;
    void _input;
    void _hash;
    return line;
  }

  /** Default mode: a transaction per row (short locks; a failed row does not stop the others). */
  private async createEach(spoolPath: string, create: boolean): Promise<void> {
    let batch: ResultLine[] = [];
    const flush = async () => {
      this.count(batch.map((l) => ({ status: l.status } as Work)));
      await this.out.write(batch);
      batch = [];
    };
    for await (const l of readLines(spoolPath)) {
      if (create && l.status === 'IMPORTED') {
        try {
          this.summary.pushed += await this.importer.db.em.fork().transactional((em) => this.createOne(em, l));
        } catch (e) {
          this.ticketError(l, e);
        }
      }
      batch.push(this.strip(l));
      if (batch.length >= 200) await flush();
    }
    await flush();
    this.summary.committed = create;
  }

  /**
   * --atomic: every ticket in one transaction; the first failure rolls all of them back. The
   * EntityManager is cleared after each row, so its unit of work stays one row deep.
   */
  private async createAtomic(spoolPath: string): Promise<void> {
    const em = this.importer.db.em.fork();
    await em.begin();
    let failedAt: number | null = null;
    let pushed = 0;
    const tmp = new LineWriter(`${spoolPath}.out`);
    try {
      for await (const l of readLines(spoolPath)) {
        if (failedAt === null && l.status === 'IMPORTED') {
          try {
            pushed += await this.createOne(em, l);
            // The row is flushed (its statements ran in the transaction): drop its entities, or every
            // later flush computes change sets over all the tickets, events and audit rows created
            // before it (quadratic: 500 rows took 25 s, holding the day's ticket counter locked).
            // Clearing the unit of work leaves the transaction and its rollback as they are.
            em.clear();
          } catch (e) {
            this.ticketError(l, e);
            failedAt = l.row;
          }
        }
        await tmp.write([this.strip(l)]);
      }
    } finally {
      await tmp.close();
    }
    if (failedAt === null) {
      await em.commit();
      this.summary.committed = true;
      this.summary.pushed = pushed;
    } else await em.rollback();
    let batch: ResultLine[] = [];
    for await (const l of readLines(`${spoolPath}.out`)) {
      batch.push(l);
      if (batch.length >= 200) {
        this.count(batch.map((x) => ({ status: x.status } as Work)));
        await this.out.write(batch);
        batch = [];
      }
    }
    this.count(batch.map((x) => ({ status: x.status } as Work)));
    await this.out.write(batch);
    await fs.rm(`${spoolPath}.out`, { force: true });
  }
}

