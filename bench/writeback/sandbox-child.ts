/**
 * The ThingsBoard sandbox in a process of its own for bench:writeback: it stands in for the vendor,
 * which in real life runs elsewhere, so its CPU (HTTP parsing, JSON, the effect counter) must not
 * be charged to the hub's write-back path. Talks to the bench over the IPC channel:
 *   → { type: 'ready', url, devices }            once listening
 *   ← { type: 'missing', id, keys }              → { id, keys: the ones not applied yet }
 *   ← { type: 'snapshot', id }                   → { id, firstAt, total, keys, duplicates }
 *   ← { type: 'stop' }
 */
import { startThingsBoardSandbox } from '../../connectors/thingsboard/sandbox/server';

interface Request { type: 'missing' | 'snapshot' | 'stop'; id?: number; keys?: string[] }

async function main(): Promise<void> {
  const scale = Number(process.argv[2]);
  const tb = await startThingsBoardSandbox({ scale });
  const send = (m: unknown) => process.send!(m);
  process.on('message', async (m: Request) => {
    if (m.type === 'missing') send({ id: m.id, keys: (m.keys ?? []).filter((k) => tb.control.effects.count(k) === 0) });
    else if (m.type === 'snapshot') {
      const s = tb.control.effects.snapshot();
      send({ id: m.id, firstAt: s.firstAt, total: s.total, keys: s.keys, duplicates: tb.control.effects.duplicates() });
    } else if (m.type === 'stop') {
      await tb.close();
      process.exit(0);
    }
  });
  send({ type: 'ready', url: tb.url, devices: tb.control.devices().map((d) => d.device.id.id) });
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
