import ExcelJS from 'exceljs';

/**
 * The benchmark's workbook, written with exceljs's streaming WorkbookWriter (flat memory): the
 * `devices` template, one device per row, three devices per customer, phones written the ways
 * people write them (numbers, spaced, +86), dates as Excel serials and as text.
 */
export async function generateDevicesWorkbook(path: string, rows: number, seed = 42): Promise<void> {
  const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: path, useStyles: false, useSharedStrings: false });
  const ws = wb.addWorksheet('设备');
  ws.addRow(['设备序列号', '型号', '固件版本', '客户电话', '客户姓名', '购买日期', '保修期(月)', '保修截止日期']).commit();
  for (let i = 0; i < rows; i++) ws.addRow(benchRowCells(i, seed)).commit();
  ws.commit();
  await wb.commit();
}

const MODELS = ['KFR-35GW/NhGd1BAj', 'KFR-72LW/N8HR3', 'XQG100-14B', 'BCD-520W', 'JSQ30-16TH1', 'DSL-K20 Pro'];
const SURNAMES = '王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高';

/** The cells of data row i (0-based; sheet row i + 2) in the header's column order. */
export function benchRowCells(i: number, seed = 42): Array<string | number | null> {
  const h = (Math.imul(i + 1, 2654435761) ^ seed) >>> 0;
  const customer = Math.floor(i / 3);
  const mobile = [138, 139, 150, 151, 186, 187][customer % 6] * 1e8 + Math.floor(customer / 6); // valid CN mobiles, one per customer
  const phone = i % 3 === 0 ? mobile : i % 3 === 1 ? `${String(mobile).slice(0, 3)} ${String(mobile).slice(3, 7)} ${String(mobile).slice(7)}` : `+86-${mobile}`;
  const purchase = 44000 + (h % 1800); // 2020-06 .. 2025-05 as Excel serial days
  return [
    // Unique (an odd multiplier is a bijection mod 2^32) and without a shared prefix: serials one edit apart,
    // or sharing most trigrams, make the merge's near-duplicate check compare each new device with all
    // the others (see bench/README.md).
    `${(Math.imul(i + 1, 0x9e3779b1) >>> 0).toString(36).toUpperCase().padStart(7, '0')}${(h % 1296).toString(36).toUpperCase().padStart(2, '0')}`,
    MODELS[h % MODELS.length],
    `V2.${h % 5}.${h % 3}`,
    phone,
    `${SURNAMES[customer % SURNAMES.length]}客户${customer}`,
    i % 2 === 0 ? purchase : `2024/${1 + (h % 12)}/${1 + (h % 28)}`,
    i % 4 === 0 ? 36 : null,
    i % 4 === 1 ? '2028-12-31' : null,
  ];
}
