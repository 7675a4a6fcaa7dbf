import type { Command } from 'commander';
import { createApiKey } from '../auth/api-keys';
import { Role } from '../auth/roles';
import { loadConfig } from '../config';
import { loadDemoData } from '../demo/load';
import { enrichOpenTickets } from '../enrichment/backfill';
import { TicketEnricher } from '../enrichment/enricher';
import { startDemoSandboxes } from '../demo/sandboxes';
import { syncDemoSandboxes } from '../demo/sync';
import { startServer } from '../server/app';
import { migrateDatabase } from './migrate';
import { onShutdown } from './shutdown';
import { startWorkerRuntime, WorkerRuntime } from './worker';

/** A key from the environment (so scripts know it in advance) or a fresh one. */
async function demoKey(orm: Parameters<typeof createApiKey>[0], role: Role, envName: string) {
  const preset = process.env[envName] || undefined;
  return createApiKey(orm, { name: `demo-${role}`, role, presetKey: preset });
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('Migrate, load the demo data set, start the CRM/ERP/IoT sandboxes and sync them, run the data checks, create demo keys, serve and work (write-backs, checks)')
    .action(async () => {
      const config = loadConfig();
      await migrateDatabase(config.databaseUrl);
      const server = await startServer({ port: config.port });
      // Sandboxes on 4101 (CRM), 4102 (ERP), 4103 (IoT), 4104 (a legacy MES taking JSON) unless JUNCTION_SANDBOX_PORT_BASE says otherwise (0 = any free port).
      const portBase = Number(process.env.JUNCTION_SANDBOX_PORT_BASE ?? 4101);
      const sandboxes = await startDemoSandboxes(Number.isInteger(portBase) ? portBase : 4101);
      let worker: WorkerRuntime | null = null;
      onShutdown(async () => {
        await worker?.close();
        await server.close();
        await sandboxes.close();
      });
      const summary = await loadDemoData(server.orm);
      const configPath = process.env.JUNCTION_DEMO_CONFIG_OUT || 'junction.demo.yaml';
      const runs = await syncDemoSandboxes(server.orm, sandboxes, configPath);
      // Demo tickets are loaded, not created: derive their enrichment once, as `junction enrich` does.
      const enriched = await enrichOpenTickets(server.orm, new TicketEnricher(server.mappings.engine), { name: 'demo', origin: 'demo' });
      // The worker role in the same process: outbox relay and write-backs to the sandboxes, data checks.
      // Stream schedules stay off: the demo has just synced, and its sandboxes do not change on their own.
      worker = await startWorkerRuntime({ orm: server.orm, configPath, schedules: false });
      const checks = await worker.checks?.runner.run({ trigger: 'demo' });
      const portal = await demoKey(server.orm, Role.PORTAL, 'JUNCTION_DEMO_PORTAL_KEY');
      const admin = await demoKey(server.orm, Role.ADMIN, 'JUNCTION_DEMO_ADMIN_KEY');
      const out = process.stdout;
      out.write(`junction demo: data loaded ${JSON.stringify(summary)}\n`);
      out.write(`junction demo: enriched ${enriched.changed} open tickets\n`);
      out.write(`junction demo: sandboxes crm ${sandboxes.urls.crm}  erp ${sandboxes.urls.erp}  iot ${sandboxes.urls.iot}  mes ${sandboxes.urls.mes} (connector config in ${configPath})\n`);
      for (const r of runs) {
        out.write(`junction demo: sync ${r.connector}/${r.stream}: ${r.status} fetched ${r.fetched}, merged ${r.merged}, unchanged ${r.unchanged}, failed ${r.failed}${r.error ? ` (${r.error})` : ''}\n`);
      }
      if (checks) {
        const found = checks.rules.filter((r) => r.found).map((r) => `${r.kind} ${r.found}`);
        out.write(`junction demo: data checks ${checks.status}: ${found.length ? found.join(', ') : 'nothing found'}\n`);
      }
      out.write(`junction demo: worker running (write-backs to the sandboxes, data checks)\n`);
      out.write(`junction demo: portal key ${process.env.JUNCTION_DEMO_PORTAL_KEY ? '(from JUNCTION_DEMO_PORTAL_KEY)' : portal.key}\n`);
      out.write(`junction demo: admin key  ${process.env.JUNCTION_DEMO_ADMIN_KEY ? '(from JUNCTION_DEMO_ADMIN_KEY)' : admin.key}\n`);
      out.write(`junction demo: write-back to the sandboxes running (queue junction-writeback; dashboard /admin/queues with the admin key)\n`);
      out.write(`junction demo: GraphQL at http://localhost:${server.port}/graphql (ready)\n`);
    });
}
