/** Command-line flags of the lookup benchmark (no dependency: the flags are few and simple). */

export interface BenchArgs {
  /** Customers to seed; devices, tickets and history scale with it (defaults 100k / ~200k / ~500k). */
  customers: number;
  /** Reuse an already seeded database of the same size and seed instead of rebuilding it. */
  reuse: boolean;
  /** Seed of every pseudo-random choice (data shapes and the identifier sample). */
  seed: number;
  /** Measured sequential requests per side (hub and SQL). */
  requests: number;
  /** Warm-up requests per side before measuring. */
  warmup: number;
  /** Concurrent clients of the throughput phase. */
  concurrency: number;
  /** Seconds the throughput phase runs (per side). */
  duration: number;
  /** Extra sequential lookups of heavy customers (50 devices / 500 tickets), reported apart. */
  heavy: number;
  /** Seed (and check) only, no measurement. */
  seedOnly: boolean;
  /** Measure the SQL baseline only, without starting the gateway. */
  sqlOnly: boolean;
  /** Also measure the SQL baseline's throughput at the same concurrency. */
  sqlRps: boolean;
  /** CPU-profile the hub's throughput phase (bench/out/lookup-hub.cpuprofile). */
  profile: boolean;
}

export const BASE_CUSTOMERS = 100_000;

export const USAGE = `Usage: npm run bench:lookup -- [flags]

  --customers N       customers to seed (default ${BASE_CUSTOMERS}); everything else scales with it
  --scale F           same as --customers F*${BASE_CUSTOMERS} (e.g. --scale 10 = 1M customers)
  --reuse             keep the database if it is already seeded with the same size and seed
  --seed N            seed of the data and of the identifier sample (default 42)
  --requests N        measured sequential requests per side (default 2000)
  --warmup N          warm-up requests per side (default 200)
  --concurrency N     clients of the throughput phase (default 10)
  --duration S        seconds of the throughput phase, per side (default 10)
  --heavy N           extra lookups of heavy customers (50 devices / 500 tickets) per side,
                      reported on their own rows, not in p50/p99 (default 100; 0 = none)
  --no-sql-rps        skip the SQL baseline's throughput phase
  --profile           CPU-profile the hub's throughput phase: bench/out/lookup-hub.cpuprofile
                      (open in Chrome DevTools) and a by-package summary
  --seed-only         seed the database and stop
  --sql-only          measure the SQL baseline only (no gateway)
  --help              this text

Environment: BENCH_DATABASE_URL or DATABASE_URL (admin connection, default
postgres://postgres@127.0.0.1:5432/postgres), REDIS_URL (passed to the gateway).`;

function positiveNumber(flag: string, raw: string | undefined, integer: boolean): number {
  if (raw === undefined) throw new Error(`${flag} needs a value`);
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new Error(`${flag} must be a positive ${integer ? 'integer' : 'number'}, got "${raw}"`);
  }
  return n;
}

export function parseArgs(argv: string[]): BenchArgs | 'help' {
  const args: BenchArgs = {
    customers: BASE_CUSTOMERS,
    reuse: false,
    seed: 42,
    requests: 2000,
    warmup: 200,
    concurrency: 10,
    duration: 10,
    heavy: 100,
    seedOnly: false,
    sqlOnly: false,
    sqlRps: true,
    profile: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2) as [string, string | undefined];
    const value = (): string | undefined => (inline !== undefined ? inline : argv[++i]);
    switch (flag) {
      case '--customers': args.customers = positiveNumber(flag, value(), true); break;
      case '--scale': args.customers = Math.round(positiveNumber(flag, value(), false) * BASE_CUSTOMERS); break;
      case '--reuse': args.reuse = true; break;
      case '--seed': args.seed = positiveNumber(flag, value(), true); break;
      case '--requests': args.requests = positiveNumber(flag, value(), true); break;
      case '--warmup': {
        const raw = value();
        args.warmup = raw === '0' ? 0 : positiveNumber(flag, raw, true);
        break;
      }
      case '--concurrency': args.concurrency = positiveNumber(flag, value(), true); break;
      case '--duration': args.duration = positiveNumber(flag, value(), false); break;
      case '--heavy': {
        const raw = value();
        args.heavy = raw === '0' ? 0 : positiveNumber(flag, raw, true);
        break;
      }
      case '--no-sql-rps': args.sqlRps = false; break;
      case '--profile': args.profile = true; break;
      case '--seed-only': args.seedOnly = true; break;
      case '--sql-only': args.sqlOnly = true; break;
      case '--help': case '-h': return 'help';
      default: throw new Error(`unknown flag "${argv[i]}"\n\n${USAGE}`);
    }
  }
  if (args.customers < 100) throw new Error('--customers must be at least 100');
  if (args.customers > 20_000_000) throw new Error('--customers above 20M is not supported (phone numbers must stay unique)');
  return args;
}
