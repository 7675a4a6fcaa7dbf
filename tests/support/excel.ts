import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import ExcelJS from 'exceljs';
import type { MikroORM } from '@mikro-orm/postgresql';
import { sqlOne } from '../../src/db/sql';

/** A scratch folder for one test file's workbooks. */
export function scratchDir(prefix = 'junction-excel-'): { dir: string; file(name: string): string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, file: (name) => join(dir, name), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface SheetSpec {
  name: string;
  rows: unknown[][];
  /** Ranges to merge, e.g. 'C2:C4'. */
  merges?: string[];
}

/** Writes a workbook the way a person's Excel would (shared strings, one or more sheets). */
export async function writeWorkbook(path: string, sheets: SheetSpec[]): Promise<string> {
  const wb = new ExcelJS.Workbook();
  for (const s of sheets) {
    const ws = wb.addWorksheet(s.name);
    for (const r of s.rows) ws.addRow(r);
    for (const m of s.merges ?? []) ws.mergeCells(m);
  }
  await wb.xlsx.writeFile(path);
  return path;
}

/** Row counts of the tables an import writes to (to prove "nothing was written"). */
export async function tableCounts(orm: MikroORM): Promise<Record<string, number>> {
  const tables = ['customer', 'device', 'ticket', 'ticket_event', 'source_link', 'audit_log', 'excel_row'];
  const out: Record<string, number> = {};
  for (const t of tables) out[t] = Number((await sqlOne<{ n: string }>(orm, `select count(*) as n from ${t}`))!.n);
  return out;
}
