/** Latency figures in milliseconds (nearest-rank percentiles). */
export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1];
}

export function summarize(samples: number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b);
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    count: sorted.length,
    mean: sorted.length ? sum / sorted.length : NaN,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1] : NaN,
  };
}

/** Elapsed milliseconds since a process.hrtime.bigint() stamp. */
export function msSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

export const fmt = (n: number, digits = 2): string => (Number.isFinite(n) ? n.toFixed(digits) : '-');

/** A plain text table, columns padded to their widest cell (first column left-aligned). */
export function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('   '))
    .join('\n');
}

export interface ThroughputResult {
  requests: number;
  errors: number;
  seconds: number;
  rps: number;
  latency: LatencySummary;
  firstError?: string;
}

/**
 * `concurrency` clients calling `call` back to back over the identifiers (round robin) until
 * `seconds` have passed or `maxRequests` were sent; stops by itself.
 */
export async function throughput(
  identifiers: string[],
  concurrency: number,
  seconds: number,
  maxRequests: number,
  call: (identifier: string) => Promise<void>,
): Promise<ThroughputResult> {
  const latencies: number[] = [];
  let next = 0;
  let errors = 0;
  let firstError: string | undefined;
  const started = process.hrtime.bigint();
  const deadline = started + BigInt(Math.round(seconds * 1e9));
  const client = async (): Promise<void> => {
    while (process.hrtime.bigint() < deadline && next < maxRequests) {
      const identifier = identifiers[next++ % identifiers.length];
      const t0 = process.hrtime.bigint();
      try {
        await call(identifier);
        latencies.push(msSince(t0));
      } catch (err) {
        errors++;
        firstError ??= err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  const elapsed = msSince(started) / 1000;
  return { requests: latencies.length, errors, seconds: elapsed, rps: latencies.length / elapsed, latency: summarize(latencies), firstError };
}
