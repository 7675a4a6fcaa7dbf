import type { Writable } from 'stream';
import type { MikroORM } from '@mikro-orm/postgresql';
import ExcelJS from 'exceljs';
import { sqlRows } from '../db/sql';
import { textArray } from '../graph/loaders';
import { neutralize } from './guard';
import { columnLetter } from './errors';
import { ExcelTemplate, importColumns, TemplateColumn } from './template';

/** Rows a template download prepares (formats and dropdowns). */
const TEMPLATE_ROWS = 5000;
const TYPE_TEXT: Record<string, string> = {
  text: 'text', phone: 'phone (any written form)', serial: 'serial (text)', date: 'date (2026-02-18)', int: 'whole number', decimal: 'amount', enum: 'one of the list',
};

/**
 * The template download: the sheet with its headers (required ones in red), a sample row,
 * dropdown validation for enumerations, text format for phones and serials (so Excel does not
 * turn them into numbers), date format for dates, and an instructions sheet.
 */
export async function writeTemplateWorkbook(t: ExcelTemplate, out: Writable | string): Promise<void> {
  const wb = new ExcelJS.Workbook();
  wb.creator = 'Junction';
  const ws = wb.addWorksheet(t.sheet, { views: [{ state: 'frozen', ySplit: t.headerRow }] });
  const cols = importColumns(t);
  let lists: ExcelJS.Worksheet | null = null;
  cols.forEach((c, i) => {
    const n = i + 1;
    const letter = columnLetter(n);
    const head = ws.getCell(t.headerRow, n);
    head.value = c.header;
    head.font = { bold: true, color: c.required ? { argb: 'FFC00000' } : undefined };
    head.fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FFEFEFEF' } };
    if (c.note || c.required) head.note = [c.required ? '必填 required' : '', c.note ?? ''].filter(Boolean).join('\n');
    ws.getColumn(n).width = c.width ?? Math.max(10, c.header.length * 2 + 4);
    const range = `${letter}${t.headerRow + 1}:${letter}${t.headerRow + TEMPLATE_ROWS}`;
    if (c.type === 'phone' || c.type === 'serial' || c.type === 'text') ws.getColumn(n).numFmt = '@';
    if (c.type === 'date') {
      ws.getColumn(n).numFmt = 'yyyy-mm-dd';
      (ws as any).dataValidations.add(range, {
        type: 'date', operator: 'greaterThan', allowBlank: true, formulae: [new Date(Date.UTC(1900, 0, 1))],
        showErrorMessage: true, errorTitle: c.header, error: '请输入日期，例如 2026-02-18',
      });
    }
    if (c.type === 'enum') {
      const values = c.values ?? [];
      let formula = `"${values.join(',')}"`;
      if (formula.length > 255 || values.some((v) => v.includes(','))) {
        lists ??= wb.addWorksheet('_lists', { state: 'veryHidden' });
        values.forEach((v, k) => { lists!.getCell(k + 1, n).value = v; });
        formula = `'_lists'!$${letter}$1:$${letter}$${values.length}`;
      }
      (ws as any).dataValidations.add(range, {
        type: 'list', allowBlank: !c.required, formulae: [formula],
        showErrorMessage: true, errorTitle: c.header, error: `请从列表中选择：${values.join('、')}`.slice(0, 255),
      });
    }
  });
  const sample = ws.getRow(t.headerRow + 1);
  cols.forEach((c, i) => {
    if (c.example === undefined) return;
    sample.getCell(i + 1).value = c.type === 'date' && typeof c.example === 'string' ? new Date(`${c.example}T00:00:00Z`) : c.example;
  });
  sample.font = { color: { argb: 'FF808080' }, italic: true };

  const help = wb.addWorksheet('说明');
  help.columns = [{ header: '列 Column', width: 18 }, { header: '必填 Required', width: 12 }, { header: '类型 Type', width: 20 }, { header: '可选值 Values', width: 30 }, { header: '也可写作 Also accepted', width: 30 }, { header: '说明 Notes', width: 60 }];
  help.getRow(1).font = { bold: true };
  for (const c of cols) {
    help.addRow([c.header, c.required ? '是 yes' : '', TYPE_TEXT[c.type], (c.values ?? []).join(', '), (c.aliases ?? []).join(', '), c.note ?? '']);
  }
  help.addRow([]);
  help.addRow([`${t.title}: ${t.description ?? ''}`]);
  help.addRow([`导入: junction excel import <file> --template ${t.name}  或 POST /excel/import/${t.name}`]);
  help.addRow([`第 ${t.headerRow + 1} 行是示例，导入前请删除或覆盖。Row ${t.headerRow + 1} is a sample: replace or delete it before importing.`]);
  if (typeof out === 'string') await wb.xlsx.writeFile(out);
  else await wb.xlsx.write(out);
}

export interface ExportFilter {
  /** tickets: statuses; */
  status?: string[];
  /** tickets: priorities. */
  priority?: string[];
  /** customers: regions, tiers. */
  region?: string[];
  tier?: string[];
  /** devices: model (exact). */
  model?: string;
  /** Customer phone (E.164): the customer, a device's owner, a ticket's customer. */
  phone?: string;
  /** devices, tickets: serial (normalized). */
  serial?: string;
  /** Created from / before (tickets, customers) or purchase date from / before (devices): YYYY-MM-DD. */
  from?: string;
  to?: string;
  /** At most this many rows. */
  limit?: number;
}

type Row = Record<string, unknown>;

interface Query {
  sql(where: string): string;
  where(f: ExportFilter, params: unknown[]): string[];
  idColumn: string;
}

const QUERIES: Record<'customers' | 'devices' | 'tickets', Query> = {
  customers: {
    idColumn: 'c.id',
    sql: (w) => `select c.id, c.phone, c.name, c.region, c.tier from customer c ${w} order by c.id limit ?`,
    where: (f, p) => {
      const w: string[] = [];
      if (f.region?.length) { w.push('c.region = any(?::text[])'); p.push(textArray(f.region)); }
      if (f.tier?.length) { w.push('c.tier = any(?::text[])'); p.push(textArray(f.tier)); }
      if (f.phone) { w.push('c.phone = ?'); p.push(f.phone); }
      if (f.from) { w.push(`c.created_at >= (?::date)::timestamp at time zone 'Asia/Shanghai'`); p.push(f.from); }
      if (f.to) { w.push(`c.created_at < (?::date)::timestamp at time zone 'Asia/Shanghai'`); p.push(f.to); }
      return w;
    },
  },
  devices: {
    idColumn: 'd.id',
    sql: (w) => `select d.id, d.serial, d.model, d.firmware, c.phone, c.name as customer_name,
                        to_char(d.purchase_date, 'YYYY-MM-DD') as purchase_date, to_char(d.warranty_end, 'YYYY-MM-DD') as warranty_end
                   from device d left join customer c on c.id = d.owner_id ${w} order by d.id limit ?`,
    where: (f, p) => {
      const w: string[] = [];
      if (f.model) { w.push('d.model = ?'); p.push(f.model); }
      if (f.phone) { w.push('c.phone = ?'); p.push(f.phone); }
      if (f.serial) { w.push('d.serial = ?'); p.push(f.serial); }
      if (f.from) { w.push('d.purchase_date >= ?::date'); p.push(f.from); }
      if (f.to) { w.push('d.purchase_date < ?::date'); p.push(f.to); }
      return w;
    },
  },
  tickets: {
    idColumn: 't.id',
    sql: (w) => `select t.id, t.number, t.status, c.phone, c.name as customer_name, d.serial, d.model, to_char(d.warranty_end, 'YYYY-MM-DD') as warranty_end,
                        t.fault, t.priority, t.category_l1, t.category_l2, t.category_l3,
                        to_char(t.eta at time zone 'Asia/Shanghai', 'YYYY-MM-DD') as eta,
                        to_char(t.created_at at time zone 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI') as created_at, t.solution
                   from ticket t join customer c on c.id = t.customer_id left join device d on d.id = t.device_id ${w} order by t.id limit ?`,
    where: (f, p) => {
      const w: string[] = [];
      if (f.status?.length) { w.push('t.status = any(?::text[])'); p.push(textArray(f.status)); }
      if (f.priority?.length) { w.push('t.priority = any(?::text[])'); p.push(textArray(f.priority)); }
      if (f.phone) { w.push('c.phone = ?'); p.push(f.phone); }
      if (f.serial) { w.push('d.serial = ?'); p.push(f.serial); }
      if (f.from) { w.push(`t.created_at >= (?::date)::timestamp at time zone 'Asia/Shanghai'`); p.push(f.from); }
      if (f.to) { w.push(`t.created_at < (?::date)::timestamp at time zone 'Asia/Shanghai'`); p.push(f.to); }
      return w;
    },
  },
};

/** A database row → the template field's value. */
function fieldValue(kind: keyof typeof QUERIES, field: string, r: Row): unknown {
  const map: Record<string, string> = {
    customerName: 'customer_name', purchaseDate: 'purchase_date', warrantyEnd: 'warranty_end', createdAt: 'created_at',
    category1: 'category_l1', category2: 'category_l2', category3: 'category_l3',
  };
  void kind;
  return r[map[field] ?? field] ?? null;
}

/** A value as the cell gets it: dates as dates, Chinese mobiles as written locally, text neutralized. */
function cellValue(c: TemplateColumn, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (c.type === 'date' && typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v)) return new Date(`${v}T00:00:00Z`);
  if (c.type === 'phone' && typeof v === 'string' && /^\+861\d{10}$/.test(v)) return v.slice(3);
  if (c.type === 'int' || c.type === 'decimal') return typeof v === 'number' ? v : Number(v);
  return neutralize(String(v));
}

/**
 * Data export for a template's entity with filters, streamed with WorkbookWriter: rows are read
 * in keyset pages and committed as they are written, so memory stays flat for any row count.
 * Every text cell goes through the formula-injection guard. The sheet and headers are the
 * template's, so an export opens as the template and can be edited and imported again.
 */
export async function exportData(orm: MikroORM, t: ExcelTemplate, filter: ExportFilter, out: Writable | string, pageSize = 2000): Promise<number> {
  const kind = t.export;
  if (!kind) throw new Error(`template ${t.name} has no export`);
  const q = QUERIES[kind];
  const cols = t.columns;
  const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ ...(typeof out === 'string' ? { filename: out } : { stream: out }), useStyles: true, useSharedStrings: false });
  const ws = wb.addWorksheet(t.sheet, { views: [{ state: 'frozen', ySplit: 1 }] });
  ws.columns = cols.map((c) => ({
    header: c.header, key: c.field, width: c.width ?? 14,
    style: c.type === 'date' ? { numFmt: 'yyyy-mm-dd' } : c.type === 'phone' || c.type === 'serial' ? { numFmt: '@' } : {},
  }));
  ws.getRow(1).font = { bold: true };
  ws.getRow(1).commit();
  const limit = filter.limit ?? Number.MAX_SAFE_INTEGER;
  let written = 0;
  let after = '0';
  while (written < limit) {
    const params: unknown[] = [];
    const where = [...q.where(filter, params), `${q.idColumn} > ?::bigint`];
    params.push(after, Math.min(pageSize, limit - written));
    const rows = await sqlRows<Row>(orm, q.sql(`where ${where.join(' and ')}`), params);
    if (!rows.length) break;
    for (const r of rows) {
      ws.addRow(cols.map((c) => cellValue(c, fieldValue(kind, c.field, r)))).commit();
    }
    written += rows.length;
    after = String(rows[rows.length - 1].id);
    if (rows.length < pageSize) break;
  }
  ws.commit();
  await wb.commit();
  return written;
}
