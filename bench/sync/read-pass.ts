import { DEMO_SYNC_ORDER } from '../../src/demo/sandboxes';
import type { ConnectorInstance } from '../../src/sync/pipeline';

export interface ReadOnlyRun {
  key: string;
  records: number;
  pages: number;
  ms: number;
  nodeCpuMs: number;
}

const msSince = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;

/** Every stream, customers first (the demo's order), then any stream that order does not name. */
export function streamOrder(instances: Map<string, ConnectorInstance>): Array<[string, string]> {
  const order = DEMO_SYNC_ORDER.filter(([c, s]) => instances.get(c)?.connector.streams[s]);
  for (const [name, inst] of instances) {
    for (const s of Object.keys(inst.connector.streams)) if (!order.some(([c, t]) => c === name && t === s)) order.push([name, s]);
  }
  return order;
}

/** Reads every stream through its connector alone: nothing staged, mapped or merged. */
export async function readOnlyPass(instances: Map<string, ConnectorInstance>, order: Array<[string, string]>, pageSize: number): Promise<ReadOnlyRun[]> {
  const out: ReadOnlyRun[] = [];
  for (const [c, s] of order) {
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    let records = 0;
    let pages = 0;
    for await (const page of instances.get(c)!.connector.streams[s].read(null, { pageSize })) {
      records += page.records.length;
      pages++;
    }
    const cpu = process.cpuUsage(cpu0);
    out.push({ key: `${c}/${s}`, records, pages, ms: msSince(t0), nodeCpuMs: (cpu.user + cpu.system) / 1000 });
  }
  return out;
}
