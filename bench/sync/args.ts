/** Command-line flags of the sync benchmark (no dependency: the flags are few and simple). */

export interface SyncBenchArgs {
  /** Synthetic source records across all streams (split by `splitRecords`). */
  records: number;
  /** Page size asked of every stream (vendors cap it: Kingdee and Salesforce 2000, ThingsBoard 1000). */
  pageSize: number;
  /** Second, smaller page size of the statements-per-page comparison (0 = skip that pass). */
  smallPageSize: number;
  /** Records per stream the page-size comparison covers (both page sizes, same records). */
  compareRecords: number;
  /** Source payloads of the biggest stream used for engine vs bare JSONata (0 = skip). */
  mapRecords: number;
  /** Measured rounds per side of the mapping comparison (plus one warm-up round each). */
  mapRounds: number;
  /** Skip the "connector read only" pass. */
  readPass: boolean;
  /** CPU-profile the full pipeline pass: bench/out/sync-pipeline.cpuprofile. */
  profile: boolean;
  /** Replace the sandboxes' sequential synthetic serials by spread-out ones (see setup.ts). */
  distinctSerials: boolean;
  /** Serve the sandboxes from the bench's own process (default: a child process, as a vendor is). */
  sandboxesInProcess: boolean;
  /** Pass 5: the rows of pass 2 written again by plain set-based SQL (bench/sync/floor.ts). */
  floor: boolean;
}

export const DEFAULT_RECORDS = 200_000;

export const USAGE = `Usage: npm run bench:sync -- [flags]

  --records N          synthetic source records over all streams (default ${DEFAULT_RECORDS}); split:
                       2% IoT devices, 18% CRM accounts, the rest over the 5 ERP forms
                       (customers, materials, serials, sales orders, inventory: one fifth each)
  --page-size N        page size asked of every stream (default 2000; ThingsBoard caps at 1000,
                       Salesforce serves 200-2000, Kingdee at most 2000)
  --small-page-size N  second page size of the statements-per-page comparison (default
                       page size / 4; 0 = skip the comparison pass)
  --compare-records N  records per stream in that comparison (default 4000)
  --map-records N      stored payloads of the biggest stream for engine vs bare JSONata
                       (default 5000; 0 = skip)
  --map-rounds N       measured rounds per side and mode of that comparison (default 3)
  --no-read-pass       skip the "connector read only" pass
  --no-floor           skip pass 5, the SQL floor (the rows of pass 2 written again by plain
                       set-based SQL from a copy, nothing else)
  --distinct-serials   replace the ERP's and IoT's sequential synthetic serials (SYN000000001,
                       SYN000000002, ...: each one edit from the next, so every new device is a
                       near-duplicate candidate) by spread-out ones of the same prefix
  --sandboxes-in-process
                       serve the sandboxes from this process (default: a child process of
                       their own, as the vendors' systems are not in Junction's process)
  --profile            CPU-profile the full pipeline pass: bench/out/sync-pipeline.cpuprofile
                       (open in Chrome DevTools) and a summary by package and by function
  --help               this text

Environment: BENCH_DATABASE_URL or DATABASE_URL (admin connection, default
postgres://postgres@127.0.0.1:5432/postgres); the benchmark drops and recreates its own
database junction_bench_sync next to it.`;

function count(flag: string, raw: string | undefined, min: number): number {
  if (raw === undefined) throw new Error(`${flag} needs a value`);
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${flag} must be an integer >= ${min}, got "${raw}"`);
  return n;
}

export function parseArgs(argv: string[]): SyncBenchArgs | 'help' {
  const args: SyncBenchArgs = {
    records: DEFAULT_RECORDS,
    pageSize: 2000,
    smallPageSize: -1,
    compareRecords: 4000,
    mapRecords: 5000,
    mapRounds: 3,
    readPass: true,
    profile: false,
    distinctSerials: false,
    sandboxesInProcess: false,
    floor: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2) as [string, string | undefined];
    const value = (): string | undefined => (inline !== undefined ? inline : argv[++i]);
    switch (flag) {
      case '--records': args.records = count(flag, value(), 0); break;
      case '--page-size': args.pageSize = count(flag, value(), 1); break;
      case '--small-page-size': args.smallPageSize = count(flag, value(), 0); break;
      case '--compare-records': args.compareRecords = count(flag, value(), 1); break;
      case '--map-records': args.mapRecords = count(flag, value(), 0); break;
      case '--map-rounds': args.mapRounds = count(flag, value(), 1); break;
      case '--no-read-pass': args.readPass = false; break;
      case '--no-floor': args.floor = false; break;
      case '--sandboxes-in-process': args.sandboxesInProcess = true; break;
      case '--profile': args.profile = true; break;
      case '--distinct-serials': args.distinctSerials = true; break;
      case '--help': case '-h': return 'help';
      default: throw new Error(`unknown flag "${argv[i]}"\n\n${USAGE}`);
    }
  }
  if (args.pageSize > 2000) throw new Error('--page-size above 2000 is more than Kingdee and Salesforce serve per page');
  if (args.smallPageSize < 0) args.smallPageSize = Math.max(1, Math.floor(args.pageSize / 4));
  if (args.smallPageSize === args.pageSize) throw new Error('--small-page-size must differ from --page-size');
  if (args.records > 5_000_000) throw new Error('--records above 5M is not supported (the sandboxes hold everything in memory)');
  return args;
}

/** How `records` synthetic records are split over the sandboxes' `scale` options. */
export interface RecordSplit {
  /** Salesforce: synthetic Accounts (the other objects do not grow). */
  crmAccounts: number;
  /** Kingdee: synthetic rows added to each of its 5 forms. */
  erpPerForm: number;
  /** ThingsBoard: synthetic devices (each costs 2 more HTTP calls: attributes and time series). */
  iotDevices: number;
}

export function splitRecords(records: number): RecordSplit {
  const iotDevices = Math.round(records * 0.02);
  const crmAccounts = Math.round(records * 0.18);
  const erpPerForm = Math.round((records - iotDevices - crmAccounts) / 5);
  return { crmAccounts, erpPerForm, iotDevices };
}
