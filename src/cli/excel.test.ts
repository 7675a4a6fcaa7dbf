/**
 * `junction excel import` exit codes, as the README promises them to batch jobs: 0 every row
 * imported or unchanged, 2 some rows failed (the others imported), 1 nothing imported. A dry run
 * answers with the same codes and writes nothing.
 */
import { useTestDatabase } from '../../tests/support/databases';
import { scratchDir, tableCounts, writeWorkbook } from '../../tests/support/excel';
import { EXIT_FAILED, EXIT_OK, EXIT_PARTIAL, runExcelImport } from './excel';

const db = useTestDatabase();
const dir = scratchDir('junction-excel-cli-');
afterAll(() => dir.remove());

const HEADERS = ['设备序列号', '型号', '客户电话', '客户姓名', '购买日期', '保修截止日期'];
const sink = () => {
  let text = '';
  return { write: (s: string) => { text += s; return true; }, get text() { return text; } };
};

async function cli(name: string, rows: unknown[][], dryRun = false) {
  const file = await writeWorkbook(dir.file(name), [{ name: '设备', rows: [HEADERS, ...rows] }]);
  const stdout = sink();
  const stderr = sink();
  const before = await tableCounts(db.orm);
  const code = await runExcelImport(file, { template: 'devices', dryRun, outDir: dir.file('out'), resultXlsx: false }, { stdout, stderr, databaseUrl: db.url });
  const written = JSON.stringify(await tableCounts(db.orm)) !== JSON.stringify(before);
  return { code, stdout: stdout.text, written };
}

const bad = (sn: string) => [sn, 'M', '13800137001', '王', 'not a date', null];
const good = (sn: string) => [sn, 'M', '13800137001', '王', null, null];

describe('excel import exit codes', () => {
  it('dry run: every row bad → 1, some bad → 2, all good → 0, nothing written', async () => {
    expect(await cli('dry-bad.xlsx', [bad('SN-CLI-D1'), bad('SN-CLI-D2')], true)).toMatchObject({ code: EXIT_FAILED, written: false });
    expect(await cli('dry-mixed.xlsx', [good('SN-CLI-D3'), bad('SN-CLI-D4')], true)).toMatchObject({ code: EXIT_PARTIAL, written: false });
    expect(await cli('dry-good.xlsx', [good('SN-CLI-D5')], true)).toMatchObject({ code: EXIT_OK, written: false });
  });

  it('every row bad → 1 (FAILED, ROWS_FAILED: nothing imported)', async () => {
    const r = await cli('all-bad.xlsx', [bad('SN-CLI-B1'), bad('SN-CLI-B2')]);
    expect(r).toMatchObject({ code: EXIT_FAILED, written: false });
    expect(r.stdout).toMatch(/: FAILED/);
    expect(r.stdout).toMatch(/ROWS_FAILED: .*all 2 rows failed; nothing was imported/);
  });

  it('some rows bad → 2 (the good ones imported); all good → 0; the same file again (unchanged) → 0', async () => {
    expect(await cli('mixed.xlsx', [good('SN-CLI-M1'), bad('SN-CLI-M2')])).toMatchObject({ code: EXIT_PARTIAL, written: true });
    expect(await cli('good.xlsx', [good('SN-CLI-G1')])).toMatchObject({ code: EXIT_OK, written: true });
    expect(await cli('good.xlsx', [good('SN-CLI-G1')])).toMatchObject({ code: EXIT_OK, written: false });
  });
});
