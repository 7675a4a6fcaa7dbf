/**
 * The mapping engine against JSONata called directly, on the same stored payloads, same order,
 * same bindings, in the same process: (a) `MappingEngine.evaluate(name, payload, bindings)` as
 * the pipeline's engine does it (compiled once and cached, guardrails on, errors translated);
 * (b) `jsonata(source)` compiled once by hand with the same helper functions and no guardrails.
 */
import jsonata from 'jsonata';
import { MappingEngine } from '../../src/mapping/engine';
import { MAPPING_FUNCTIONS } from '../../src/mapping/functions';

export interface MappingInput {
  payload: unknown;
  bindings: Record<string, unknown>;
}

export interface MappingSideResult {
  /** records/s of each measured round. */
  rates: number[];
  median: number;
  best: number;
  /** Most records that failed in one measured round (the verification round's count is `errors`). */
  failures: number;
}

export interface MappingComparison {
  name: string;
  version: string;
  records: number;
  errors: number;
  /** Sequential: one evaluation awaited after the other. */
  sequential: { engine: MappingSideResult; bare: MappingSideResult; ratio: number };
  /** As the pipeline calls it: a page's evaluations started together (Promise.all), page by page. */
  batched: { pageSize: number; engine: MappingSideResult; bare: MappingSideResult; ratio: number };
}

type Evaluate = (input: MappingInput) => Promise<unknown>;

const settle = async (f: Evaluate, input: MappingInput): Promise<{ ok: boolean; value: unknown }> => {
  try {
    return { ok: true, value: await f(input) };
  } catch (e) {
    const err = e as { code?: string; details?: { code?: string } };
    return { ok: false, value: err.details?.code ?? err.code ?? String(e) };
  }
};

interface Round {
  rate: number;
  failures: number;
}

async function sequentialRound(f: Evaluate, inputs: MappingInput[]): Promise<Round> {
  let failures = 0;
  const t0 = process.hrtime.bigint();
  for (const input of inputs) {
    try {
      await f(input);
    } catch {
      failures++;
    }
  }
  return { rate: inputs.length / (Number(process.hrtime.bigint() - t0) / 1e9), failures };
}

async function batchedRound(f: Evaluate, inputs: MappingInput[], pageSize: number): Promise<Round> {
  let failures = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < inputs.length; i += pageSize) {
    await Promise.all(inputs.slice(i, i + pageSize).map((input) => f(input).catch(() => {
      failures++;
    })));
  }
  return { rate: inputs.length / (Number(process.hrtime.bigint() - t0) / 1e9), failures };
}

const summarize = (rounds: Round[]): MappingSideResult => {
  const rates = rounds.map((r) => r.rate);
  const sorted = [...rates].sort((a, b) => a - b);
  return {
    rates,
    median: sorted[Math.floor((sorted.length - 1) / 2)],
    best: sorted[sorted.length - 1],
    failures: Math.max(...rounds.map((r) => r.failures)),
  };
};

/**
 * Verifies that both sides give the same output (or fail alike) for every record, then measures
 * `rounds` rounds per side and mode, the sides taking turns (who goes first alternates) so they
 * see the same heap and JIT state. One unmeasured warm-up round per side first.
 */
export async function compareMapping(
  engine: MappingEngine,
  name: string,
  inputs: MappingInput[],
  rounds: number,
  pageSize: number,
): Promise<MappingComparison> {
  const compiled = engine.get(name);
  const expr = jsonata(compiled.source);
  for (const [fn, [impl, signature]] of Object.entries(MAPPING_FUNCTIONS)) expr.registerFunction(fn, impl, signature);

  const viaEngine: Evaluate = (i) => engine.evaluate(name, i.payload, i.bindings);
  const bare: Evaluate = (i) => expr.evaluate(i.payload, i.bindings);

  let errors = 0;
  for (let n = 0; n < inputs.length; n++) {
    const [a, b] = [await settle(viaEngine, inputs[n]), await settle(bare, inputs[n])];
    if (!a.ok) errors++;
    const same = a.ok === b.ok && (a.ok ? JSON.stringify(a.value) === JSON.stringify(b.value) : true);
    if (!same) {
      throw new Error(`engine and bare JSONata disagree on record ${n} of ${name}: ${JSON.stringify(a).slice(0, 300)} vs ${JSON.stringify(b).slice(0, 300)}`);
    }
  }

  const sides: Array<[string, Evaluate]> = [['engine', viaEngine], ['bare', bare]];
  const seq = new Map<string, Round[]>(sides.map(([s]) => [s, []]));
  const bat = new Map<string, Round[]>(sides.map(([s]) => [s, []]));
  for (let r = -1; r < rounds; r++) {
    const order = r % 2 === 0 ? sides : [...sides].reverse();
    for (const [side, f] of order) {
      const round = await sequentialRound(f, inputs);
      if (r >= 0) seq.get(side)!.push(round);
    }
    for (const [side, f] of order) {
      const round = await batchedRound(f, inputs, pageSize);
      if (r >= 0) bat.get(side)!.push(round);
    }
  }
  const se = summarize(seq.get('engine')!);
  const sb = summarize(seq.get('bare')!);
  const be = summarize(bat.get('engine')!);
  const bb = summarize(bat.get('bare')!);
  return {
    name,
    version: compiled.version,
    records: inputs.length,
    errors,
    sequential: { engine: se, bare: sb, ratio: se.median / sb.median },
    batched: { pageSize, engine: be, bare: bb, ratio: be.median / bb.median },
  };
}

/**
 * Micro-benchmark without a database: `node dist/bench/sync/mapping.js [mapping ...] [--records N]`
 * runs compareMapping on each mapping's fixture inputs (cycled to N records, their own bindings;
 * fixtures that expect an error included), default excel/devices and salesforce/accounts.
 */
async function micro(argv: string[]): Promise<void> {
  const { fixturesOf } = await import('../../src/mapping/fixtures');
  const recordsAt = argv.indexOf('--records');
  const records = recordsAt >= 0 ? Number(argv[recordsAt + 1]) : 3000;
  const names = argv.filter((a, i) => !a.startsWith('--') && argv[i - 1] !== '--records');
  const engine = new MappingEngine();
  for (const name of names.length ? names : ['excel/devices', 'salesforce/accounts']) {
    const fixtures = fixturesOf(engine.root, name);
    const inputs: MappingInput[] = Array.from({ length: records }, (_, i) => {
      const f = fixtures[i % fixtures.length];
      return { payload: f.input, bindings: f.bindings ?? {} };
    });
    const m = await compareMapping(engine, name, inputs, 3, 1000);
    const rate = (r: MappingSideResult): string => Math.round(r.median).toLocaleString('en-US').padStart(9);
    console.log(`${name.padEnd(28)} fast path ${engine.get(name).fast ? 'yes' : 'no '}  ${records} records (${m.errors} fail on both sides)  ` +
      `sequential engine ${rate(m.sequential.engine)} rec/s, bare ${rate(m.sequential.bare)} rec/s = ${m.sequential.ratio.toFixed(2)}x;  ` +
      `batched ${m.batched.ratio.toFixed(2)}x`);
  }
}

if (require.main === module) {
  micro(process.argv.slice(2)).catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
