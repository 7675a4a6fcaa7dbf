import { SandboxedEvaluator } from './sandboxed';
import { MappingError } from './errors';

const CATASTROPHIC = '$match("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", /(a+)+$/)';

describe('SandboxedEvaluator', () => {
  const sandbox = new SandboxedEvaluator({ budgetMs: 1500 });

  it('evaluates in a worker with the helper functions and bindings, errors beside outputs', async () => {
    const run = await sandbox.run(
      'crm/accounts',
      `Phone ? { "phone": $normalizePhone(Phone), "day": $parseDate(Day), "id": $externalId } : $error("no phone for " & $externalId)`,
      [
        { input: { Phone: '138 0013 8000', Day: '/Date(1771372800000+0800)/' }, bindings: { externalId: 'A1' } },
        { input: { Phone: '' }, bindings: { externalId: 'A2' } },
        { input: { Phone: '(0086)139-0013-9000', Day: '2026/2/18' }, bindings: { externalId: 'A3' } },
      ],
    );
    expect(run.timedOut).toBe(false);
    expect(run.results).toEqual([
      { ok: true, output: { phone: '+8613800138000', day: '2026-02-18', id: 'A1' } },
      { ok: false, error: expect.objectContaining({ code: 'MAPPING_FAILED', message: expect.stringMatching(/^Mapping crm\/accounts: no phone for A2/) }) },
      { ok: true, output: { phone: '+8613900139000', day: '2026-02-18', id: 'A3' } },
    ]);
  });

  it('rejects an expression that does not compile, with the position', async () => {
    const err = await sandbox.run('crm/accounts', '{ "a": Name ', [{ input: {} }]).catch((e) => e);
    expect(err).toBeInstanceOf(MappingError);
    expect(err).toMatchObject({ code: 'MAPPING_COMPILE_FAILED', mapping: 'crm/accounts', details: { position: expect.any(Number) } });
  });

  it('stops a catastrophic regex (which JSONata cannot interrupt) with MAPPING_TIMEOUT, keeping finished results', async () => {
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 20);
    try {
      const run = await sandbox.run('erp/serials', `slow ? ${CATASTROPHIC} : "fast " & n`, [
        { input: { slow: false, n: 1 } },
        { input: { slow: true } },
        { input: { slow: false, n: 3 } },
      ]);
      expect(run.timedOut).toBe(true);
      expect(run.results[0]).toEqual({ ok: true, output: 'fast 1' });
      expect(run.results[1]).toMatchObject({ ok: false, error: { code: 'MAPPING_TIMEOUT', message: expect.stringMatching(/^Mapping erp\/serials: stopped after 1500 ms/) } });
      expect(run.results[2]).toMatchObject({ ok: false, error: { code: 'MAPPING_TIMEOUT', message: expect.stringContaining('not evaluated') } });
    } finally {
      clearInterval(ticker);
    }
    // The regex ran on the worker's thread: this one kept its event loop turning meanwhile.
    expect(ticks).toBeGreaterThan(10);
  });

  it('keeps a sandbox usable after a stopped run, and outputs are plain JSON', async () => {
    const run = await sandbox.run('x/y', '{ "seq": [1, 2, 3].($ * 2), "f": function($a) { $a }, "u": nothing }', [{ input: {} }]);
    expect(run.results).toEqual([{ ok: true, output: { seq: [2, 4, 6] } }]);
  });

  it('refuses outputs larger than the limit', async () => {
    const small = new SandboxedEvaluator({ budgetMs: 1500, maxOutputChars: 100 });
    const run = await small.run('x/y', '[1..1000]', [{ input: {} }]);
    expect(run.results[0]).toMatchObject({ ok: false, error: { code: 'MAPPING_INVALID_OUTPUT' } });
  });
});
