import { CanonicalRecord, RecordError, toCanonical } from '../sync/canonical';
import type { CreateTicketInput } from '../tickets/ticket-service';
import { TicketPriority } from '../tickets/ticket-enums';
import { columnLetter } from './errors';
import type { HeaderInfo, RowError } from './reader';
import type { ExcelTemplate } from './template';

/** Where a template field sits in this file: `客户电话 (column C)`. */
export function fieldLabel(t: ExcelTemplate, header: HeaderInfo | null, field: string): { label: string; column?: string; header?: string } {
  const col = t.columns.find((c) => c.field === field);
  if (!col) return { label: field };
  const at = header?.mapped.find((m) => m.column.field === field);
  if (!at) return { label: col.header };
  const letter = columnLetter(at.index + 1);
  return { label: `${col.header} (column ${letter})`, column: letter, header: header!.headers[at.index] };
}

/** Canonical field names that stand for a template field in messages (a device's owner is the phone column). */
const FIELD_ALIASES: Record<string, string> = { owner: 'phone', customer: 'phone', serial: 'serial', name: 'name' };

/** A canonical/merge error as a row error, pointing at the column when it can. */
export function recordErrorToRow(t: ExcelTemplate, header: HeaderInfo | null, e: RecordError | Error): RowError {
  const code = (e as RecordError).code ?? 'FAILED';
  const field = (e as RecordError).field;
  const target = field ? (t.columns.some((c) => c.field === field) ? field : FIELD_ALIASES[field]) : undefined;
  if (target && t.columns.some((c) => c.field === target)) {
    const where = fieldLabel(t, header, target);
    return { code, message: `${where.label}: ${e.message}`, column: where.column, header: where.header, field: target };
  }
  return { code, message: e.message };
}

/** Mapping output of a merge template → canonical records (the same validation as sync). */
export function mergeRecords(output: unknown): CanonicalRecord[] {
  return toCanonical(output);
}

export interface TicketRecord {
  entity: 'ticket';
  phone: string | null;
  serial: string | null;
  fault: string;
  priority: TicketPriority | null;
  category: { level1: string | null; level2: string | null; level3: string | null } | null;
  eta: string | null;
  note: string | null;
  [extra: string]: unknown;
}

const PRIORITIES = Object.values(TicketPriority) as string[];

/** Mapping output of the tickets template → a ticket record (checked) and the ticket service's input. */
export function ticketRecord(output: unknown): { record: TicketRecord; input: CreateTicketInput } {
  const o = output as Record<string, any> | null;
  if (!o || typeof o !== 'object' || Array.isArray(o) || o.entity !== 'ticket') {
    throw new RecordError('INVALID_OUTPUT', 'the tickets mapping must give one object with entity "ticket"');
  }
  const str = (k: string): string | null => {
    const v = o[k];
    if (v === null || v === undefined || v === '') return null;
    if (typeof v === 'object') throw new RecordError('INVALID_FIELD', `ticket.${k}: expected text`, k);
    return String(v);
  };
  const fault = str('fault');
  if (!fault) throw new RecordError('MISSING_FIELD', 'ticket.fault is required', 'fault');
  const priority = str('priority');
  if (priority && !PRIORITIES.includes(priority)) throw new RecordError('INVALID_FIELD', `ticket.priority must be one of ${PRIORITIES.join(', ')}`, 'priority');
  const c = o.category;
  const category = c && typeof c === 'object'
    ? { level1: c.level1 ? String(c.level1) : null, level2: c.level2 ? String(c.level2) : null, level3: c.level3 ? String(c.level3) : null }
    : null;
  const eta = str('eta');
  if (eta && !/^\d{4}-\d{2}-\d{2}/.test(eta)) throw new RecordError('INVALID_FIELD', 'ticket.eta must be a date', 'eta');
  const record: TicketRecord = { ...o, entity: 'ticket', phone: str('phone'), serial: str('serial'), fault, priority: priority as TicketPriority | null, category, eta, note: str('note') };
  const input: CreateTicketInput = {
    phone: record.phone,
    serial: record.serial,
    fault,
    priority: record.priority,
    category,
    // A date without a time: the start of that day in China time, the calendar the sheets use.
    eta: eta ? new Date(eta.length === 10 ? `${eta}T00:00:00+08:00` : eta) : null,
    note: record.note,
  };
  return { record, input };
}

/** Ticket service field paths (input.phone, input.category.level1…) → template fields. */
export function ticketField(path: string | undefined): string | undefined {
  if (!path) return undefined;
  const p = path.replace(/^input\./, '');
  if (p.startsWith('category.level')) return `category${p.slice('category.level'.length)}`;
  return p;
}
