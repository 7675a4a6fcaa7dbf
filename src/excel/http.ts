import { createWriteStream, promises as fs, WriteStream } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { randomBytes } from 'crypto';
import { Readable } from 'stream';
import { createGunzip } from 'zlib';
import busboy from 'busboy';
import express, { NextFunction, Request, Response, Router } from 'express';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { ApiKeyVerifier, AuthInfo } from '../auth/api-keys';
import { Role, roleAllows } from '../auth/roles';
import { normalizePhone, normalizeSerial } from '../identity/normalize';
import { storable } from '../db/storable-text';
import { logger } from '../logging/logger';
import type { MappingEngine } from '../mapping/engine';
import type { TicketService } from '../tickets/ticket-service';
import { ExcelFileError } from './errors';
import { ExportFilter, exportData, writeTemplateWorkbook } from './exporter';
import { ExcelImporter } from './importer';
import { ExcelJobRow, ExcelJobRunner, findJob, jobResult } from './jobs';
import { readLines, writeResultWorkbook } from './results';
import { listTemplates, loadTemplate } from './template';

export interface ExcelHttpOptions {
  orm: MikroORM;
  verifier: ApiKeyVerifier;
  engine: MappingEngine;
  tickets: TicketService;
  /** Largest upload accepted (default JUNCTION_EXCEL_MAX_UPLOAD_MB, else 50 MB). */
  maxUploadBytes?: number;
  /** Where uploads are spooled while their job waits (default JUNCTION_EXCEL_UPLOAD_DIR, else the OS temp dir). */
  uploadDir?: string;
}

export interface ExcelHttp {
  router: Router;
  jobs: ExcelJobRunner;
  /** Waits for running jobs. */
  close(): Promise<void>;
}

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

function uploadLimit(opts: ExcelHttpOptions): number {
  if (opts.maxUploadBytes) return opts.maxUploadBytes;
  const mb = Number(process.env.JUNCTION_EXCEL_MAX_UPLOAD_MB || 50);
  return Math.max(1, Math.floor((Number.isFinite(mb) && mb > 0 ? mb : 50) * 1024 * 1024));
}

function fail(res: Response, status: number, code: string, message: string, extra: Record<string, unknown> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.status(status).json({ error: { code, message, ...extra } });
}

/** The job as the API shows it (GraphQL `excelJob` has the same fields). */
export function jobJson(j: ExcelJobRow) {
  const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());
  return {
    id: String(j.id), template: j.template, fileName: j.file_name, status: j.status, atomic: j.atomic, dryRun: j.dry_run,
    totalRows: j.total_rows, processed: j.processed, imported: j.imported, unchanged: j.unchanged, failed: j.failed, pushed: j.pushed,
    error: j.error ?? null, createdBy: j.created_by, createdAt: iso(j.created_at), startedAt: iso(j.started_at), finishedAt: iso(j.finished_at),
    resultUrl: j.has_result ? `/excel/jobs/${j.id}/result.jsonl` : null,
    resultWorkbookUrl: j.has_result ? `/excel/jobs/${j.id}/result.xlsx` : null,
  };
}

/** A request's answer that names what was wrong with its input (400 BAD_USER_INPUT). */
class BadUserInput extends Error {
  constructor(message: string, readonly parameter: string) {
    super(message);
  }
}

const TRUE = new Set(['1', 'true', 'yes']);
const FALSE = new Set(['0', 'false', 'no']);

/**
 * A yes/no parameter (query string or form field), case-insensitive: true/false, 1/0, yes/no
 * (Python's requests sends `True`). Absent (or empty) → `absent`; anything else is refused,
 * naming the parameter: a `dryRun=maybe` must not run a real import.
 */
export function flag(name: string, v: unknown, absent: boolean): boolean {
  if (Array.isArray(v)) throw new BadUserInput(`${name} was given ${v.length} times; give it once (true or false)`, name);
  if (v === undefined || v === null || v === '') return absent;
  const s = String(v).trim().toLowerCase();
  if (TRUE.has(s)) return true;
  if (FALSE.has(s)) return false;
  throw new BadUserInput(`${name} must be true or false (also 1/0, yes/no), not "${String(v).slice(0, 40)}"`, name);
}

const MAX_FILE_NAME = 255;

/**
 * The upload's file name as stored and shown: control characters (U+0000 cannot be stored at all)
 * and unpaired surrogates as "_" / U+FFFD, at most 255 characters (whole code points).
 */
export function cleanFileName(name: string | undefined): string {
  // eslint-disable-next-line no-control-regex -- the control characters are what is replaced
  const text = storable((name ?? '').replace(/[\u0000-\u001f\u007f]/g, '_')).trim();
  const chars = [...text];
  return (chars.length > MAX_FILE_NAME ? chars.slice(0, MAX_FILE_NAME).join('') : text) || 'upload.xlsx';
}

function attachment(name: string): string {
  return `attachment; filename="${name.replace(/[^\x20-\x7e]|"/g, '_')}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

/**
 * Excel over HTTP, for `batch` and `admin` keys:
 * - `POST /excel/import/:template` (multipart, one file; `atomic`, `dryRun`, `push=false` as query or form fields) → 202 and a job;
 * - `GET /excel/jobs/:id`, `/excel/jobs/:id/result.jsonl`, `/excel/jobs/:id/result.xlsx`;
 * - `GET /excel/templates`, `GET /excel/templates/:template` (the template workbook);
 * - `GET /excel/export/:template?status=&priority=&region=&tier=&model=&phone=&serial=&from=&to=&limit=`.
 */
export function createExcelRouter(opts: ExcelHttpOptions): ExcelHttp {
  const importer = new ExcelImporter(opts.orm, opts.engine, opts.tickets);
  const jobs = new ExcelJobRunner(opts.orm, importer);
  const maxBytes = uploadLimit(opts);
  const uploadDir = opts.uploadDir ?? (process.env.JUNCTION_EXCEL_UPLOAD_DIR || tmpdir());
  const router = express.Router();

  router.use(async (req: Request, res: Response, next: NextFunction) => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    if (!m) return fail(res, 401, 'UNAUTHENTICATED', 'Send an API key as "Authorization: Bearer <key>"');
    let auth: AuthInfo | null;
    try {
      auth = await opts.verifier.verify(m[1]);
    } catch (e) {
      return next(e);
    }
    if (!auth) return fail(res, 401, 'UNAUTHENTICATED', 'The API key is not valid or was revoked');
    if (!roleAllows(auth.role, [Role.BATCH])) {
      return fail(res, 403, 'FORBIDDEN', `The ${auth.role} key "${auth.name}" may not use the Excel endpoints (needs batch or admin)`);
    }
    res.locals.auth = auth;
    next();
  });

  const template = (req: Request, res: Response) => {
    try {
      return loadTemplate(String(req.params.template));
    } catch (e) {
      fail(res, 404, 'NOT_FOUND', e instanceof Error ? e.message : String(e));
      return null;
    }
  };

  router.post('/import/:template', async (req, res) => {
    const t = template(req, res);
    if (!t) return;
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > maxBytes + 64 * 1024) {
      return fail(res, 413, 'FILE_TOO_LARGE', `The upload is ${declared} bytes; at most ${maxBytes} bytes (JUNCTION_EXCEL_MAX_UPLOAD_MB)`);
    }
    if (!/^multipart\/form-data/i.test(req.headers['content-type'] ?? '')) {
      return fail(res, 400, 'BAD_REQUEST', 'Send the file as multipart/form-data (one file field)');
    }
    const tmp = join(uploadDir, `junction-upload-${process.pid}-${randomBytes(8).toString('hex')}.xlsx`);
    const fields: Record<string, string> = {};
    let fileName: string | null = null;
    let tooLarge = false;
    let submitted = false;
    try {
      try {
        await receive(req, tmp, maxBytes, {
          file: (name) => { fileName = cleanFileName(name); },
          field: (name, value) => { fields[name] = value; },
          limit: () => { tooLarge = true; },
        });
      } catch (e) {
        return fail(res, 400, 'BAD_REQUEST', `The upload could not be read: ${(e as Error).message}`);
      }
      if (tooLarge) {
        return fail(res, 413, 'FILE_TOO_LARGE', `${fileName}: the file is larger than ${maxBytes} bytes (JUNCTION_EXCEL_MAX_UPLOAD_MB); split it or use junction excel import`);
      }
      if (!fileName) return fail(res, 400, 'BAD_REQUEST', 'No file in the upload: send one file field');
      let atomic: boolean, dryRun: boolean, push: boolean;
      try {
        const param = (k: string) => req.query[k] ?? fields[k];
        atomic = flag('atomic', param('atomic'), false);
        dryRun = flag('dryRun', param('dryRun'), false);
        push = flag('push', param('push'), true);
      } catch (e) {
        if (!(e instanceof BadUserInput)) throw e;
        return fail(res, 400, 'BAD_USER_INPUT', e.message, { parameter: e.parameter });
      }
      const auth = res.locals.auth as AuthInfo;
      const id = await jobs.submit({ template: t.name, fileName, path: tmp, atomic, dryRun, push, createdBy: `apikey:${auth.name}` });
      // From here the job owns the file (and deletes it when it is done).
      submitted = true;
      res.status(202).location(`/excel/jobs/${id}`).json({ job: jobJson((await findJob(opts.orm, id))!) });
    } finally {
      if (!submitted) await fs.rm(tmp, { force: true });
    }
  });

  router.get('/jobs/:id', async (req, res) => {
    const job = await findJob(opts.orm, String(req.params.id));
    if (!job) return fail(res, 404, 'NOT_FOUND', `No Excel job ${req.params.id}`);
    res.json({ job: jobJson(job) });
  });

  router.get('/jobs/:id/result.:format', async (req, res) => {
    const job = await findJob(opts.orm, String(req.params.id));
    if (!job) return fail(res, 404, 'NOT_FOUND', `No Excel job ${req.params.id}`);
    const gz = job.has_result ? await jobResult(opts.orm, job.id) : null;
    if (!gz) return fail(res, 409, 'NOT_READY', `Excel job ${job.id} is ${job.status}; its result is not there yet`);
    const base = job.file_name.replace(/\.xlsx$/i, '');
    if (req.params.format === 'jsonl') {
      res.setHeader('content-type', 'application/x-ndjson; charset=utf-8');
      res.setHeader('content-disposition', attachment(`${base}.result.jsonl`));
      Readable.from([gz]).pipe(createGunzip()).pipe(res);
      return;
    }
    if (req.params.format !== 'xlsx') return fail(res, 404, 'NOT_FOUND', 'Results are result.jsonl or result.xlsx');
    res.setHeader('content-type', XLSX);
    res.setHeader('content-disposition', attachment(`${base}.result.xlsx`));
    const sheet = (await readFirstSheet(gz)) ?? job.template;
    await writeResultWorkbook(readLines(Readable.from([gz]).pipe(createGunzip())), job.headers ?? [], sheet, res);
  });

  router.get('/templates', (_req, res) => {
    res.json({ templates: listTemplates().map((n) => { const t = loadTemplate(n); return { name: t.name, title: t.title, sheet: t.sheet, url: `/excel/templates/${t.name}` }; }) });
  });

  router.get('/templates/:template', async (req, res) => {
    const t = template(req, res);
    if (!t) return;
    res.setHeader('content-type', XLSX);
    res.setHeader('content-disposition', attachment(`${t.name}.template.xlsx`));
    await writeTemplateWorkbook(t, res);
    res.end();
  });

  router.get('/export/:template', async (req, res) => {
    const t = template(req, res);
    if (!t) return;
    if (!t.export) return fail(res, 400, 'BAD_REQUEST', `Template ${t.name} has no data export`);
    let filter: ExportFilter;
    try {
      filter = parseExportFilter(req.query as Record<string, unknown>);
    } catch (e) {
      return fail(res, 400, 'BAD_USER_INPUT', (e as Error).message);
    }
    res.setHeader('content-type', XLSX);
    res.setHeader('content-disposition', attachment(`${t.name}.xlsx`));
    await exportData(opts.orm, t, filter, res);
  });

  router.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    void _next;
    logger.error('excel endpoint failed', { message: (err as Error)?.message });
    if (err instanceof ExcelFileError) return fail(res, 400, err.code, err.message);
    fail(res, 500, 'INTERNAL_SERVER_ERROR', 'The Excel request failed');
  });

  return { router, jobs, close: () => jobs.idle() };
}

/**
 * Reads a multipart upload, its one file into `path`. Settles on every outcome: the body read
 * (after the file is on disk), a malformed body, or a client that goes away part way (aborted,
 * socket closed before the end): then busboy and the file are closed and it rejects, so the caller
 * deletes the file and no descriptor stays open.
 */
function receive(req: Request, path: string, maxBytes: number, on: { file(name: string | undefined): void; field(name: string, value: string): void; limit(): void }): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const bb = busboy({ headers: req.headers, defParamCharset: 'utf8', limits: { fileSize: maxBytes, files: 1, fields: 10, fieldSize: 1024 } });
    let out: WriteStream | null = null;
    let written: Promise<void> = Promise.resolve();
    let settled = false;
    const cleanup = () => {
      req.off('aborted', onAbort);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onError = (e: unknown) => {
      if (settled) return;
      settled = true;
      cleanup();
      req.unpipe(bb);
      bb.destroy();
      out?.destroy();
      // Resolves once the file's descriptor is closed (or there was none).
      const closed = out && !out.closed ? new Promise<void>((ok) => out!.once('close', () => ok())) : Promise.resolve();
      void closed.then(() => reject(e instanceof Error ? e : new Error(String(e))));
    };
    const onAbort = () => onError(new Error('the client went away before the upload ended'));
    const onClose = () => { if (!req.complete) onAbort(); };
    req.on('aborted', onAbort);
    req.on('error', onError);
    req.on('close', onClose);
    bb.on('file', (_name, stream, info) => {
      on.file(info.filename);
      out = createWriteStream(path);
      const o = out;
      written = new Promise<void>((ok, ko) => { o.on('finish', ok); o.on('error', ko); });
      written.catch(onError);
      stream.on('limit', on.limit);
      stream.on('error', onError);
      stream.pipe(o);
    });
    bb.on('field', (name, value) => on.field(name, value));
    bb.on('close', () => {
      written.then(() => {
        if (settled) return;
        settled = true;
        cleanup();
        resolve();
      }, onError);
    });
    bb.on('error', onError);
    req.pipe(bb);
  });
}

async function readFirstSheet(gz: Buffer): Promise<string | null> {
  for await (const l of readLines(Readable.from([gz]).pipe(createGunzip()))) return l.sheet;
  return null;
}

/** Query string (or CLI options) → export filter; values checked and normalized. */
export function parseExportFilter(q: Record<string, unknown>): ExportFilter {
  const list = (k: string) => {
    const v = q[k];
    if (v === undefined || v === null || v === '') return undefined;
    return String(v).split(',').map((s) => s.trim()).filter(Boolean);
  };
  const one = (k: string) => (q[k] === undefined || q[k] === '' ? undefined : String(q[k]));
  const date = (k: string) => {
    const v = one(k);
    if (v === undefined) return v;
    // Round trip: 2026-02-30 matches the pattern but is no day (PostgreSQL would refuse it mid-export).
    const d = /^\d{4}-\d{2}-\d{2}$/.test(v) ? new Date(`${v}T00:00:00Z`) : null;
    if (!d || Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== v) throw new Error(`${k} must be a date like 2026-02-18 (got "${v.slice(0, 40)}")`);
    return v;
  };
  const f: ExportFilter = {
    status: list('status')?.map((s) => s.toUpperCase()), priority: list('priority')?.map((s) => s.toUpperCase()),
    region: list('region'), tier: list('tier')?.map((s) => s.toUpperCase()), model: one('model'), from: date('from'), to: date('to'),
  };
  const phone = one('phone');
  if (phone) {
    const p = normalizePhone(phone);
    if (!p) throw new Error(`phone "${phone}" is not a valid phone number`);
    f.phone = p;
  }
  const serial = one('serial');
  if (serial) f.serial = normalizeSerial(serial) ?? undefined;
  const limit = one('limit');
  if (limit !== undefined) {
    const n = Number(limit);
    if (!Number.isInteger(n) || n < 1) throw new Error('limit must be a positive whole number');
    f.limit = n;
  }
  return f;
}
