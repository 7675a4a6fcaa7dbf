/** `junction mapping test`: fixtures run in the sandbox, straight from the files; exit code for scripts. */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { runMappingTests } from './mapping';

class Capture {
  text = '';
  write(s: string) { this.text += s; return true; }
}

const run = async (names: string[], root?: string) => {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await runMappingTests(names, { stdout, stderr, root });
  return { code, out: stdout.text, err: stderr.text };
};

describe('junction mapping test', () => {
  it('passes every committed mapping with its fixtures', async () => {
    const r = await run([]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^ok {3}salesforce\/accounts \(\d+ fixtures\)$/m);
    expect(r.out).toMatch(/all fixtures passed/);
  }, 120_000);

  it('names the mapping and fixture that fail, exits 1; an unknown name is refused', async () => {
    const root = mkdtempSync(join(tmpdir(), 'junction-mapping-test-'));
    try {
      mkdirSync(join(root, 'erp'));
      writeFileSync(join(root, 'erp', 'orders.jsonata'), '{ "entity": "purchase", "orderNumber": id }');
      writeFileSync(join(root, 'erp', 'orders.fixtures.json'), JSON.stringify([
        { name: 'keeps the number', input: { id: 'SO-1' }, expected: { entity: 'purchase', orderNumber: 'SO-1' } },
        { name: 'wrong on purpose', input: { id: 'SO-2' }, expected: { entity: 'purchase', orderNumber: 'SO-3' } },
      ]));
      writeFileSync(join(root, 'erp', 'untested.jsonata'), '{}');
      const r = await run([], root);
      expect(r.code).toBe(1);
      expect(r.out).toContain('FAIL erp/orders › wrong on purpose: expected {"entity":"purchase","orderNumber":"SO-3"} but got {"entity":"purchase","orderNumber":"SO-2"}');
      expect(r.out).not.toContain('keeps the number');
      expect(r.out).toContain('-    erp/untested: no fixtures');
      expect(r.out).toMatch(/1 mapping failed; 1 without fixtures/);
      const unknown = await run(['erp/nope'], root);
      expect(unknown).toMatchObject({ code: 1, err: expect.stringContaining('no mapping erp/nope') });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
