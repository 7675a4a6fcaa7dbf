import type { Command } from 'commander';
import { createApiKey } from '../auth/api-keys';
import { Role } from '../auth/roles';
import { loadConfig } from '../config';
import { loadDemoData } from '../demo/load';
import { startDemoSandboxes } from '../demo/sandboxes';
import { syncDemoSandboxes } from '../demo/sync';
import { startServer } from '../server/app';
import { migrateDatabase } from './migrate';
import { onShutdown } from './shutdown';

/** A key from the environment (so scripts know it in advance) or a fresh one. */
async function demoKey(orm: Parameters<typeof createApiKey>[0], role: Role, envName: string) {
  const preset = process.env[envName] || undefined;
  return createApiKey(orm, { name: `demo-${role}`, role, presetKey: preset });
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('Migrate, load the demo data set, start the CRM/ERP/IoT sandboxes and sync them, create demo keys and serve')
    .action(async () => {
      const config = loadConfig();
      await migrateDatabase(config.databaseUrl);
      const server = await startServer({ port: config.port });
      // Sandboxes on 4101 (CRM), 4102 (ERP), 4103 (IoT), 4104 (a legacy MES taking JSON) unless JUNCTION_SANDBOX_PORT_BASE says otherwise (0 = any free port).
      const portBase = Number(process.env.JUNCTION_SANDBOX_PORT_BASE ?? 4101);
      const sandboxes = await startDemoSandboxes(Number.isInteger(portBase) ? portBase : 4101);
      onShutdown(async () => {
        await server.close();
        await sandboxes.close();
      });
      const summary = await loadDemoData(server.orm);
      const configPath = process.env.JUNCTION_DEMO_CONFIG_OUT || 'junction.demo.yaml';
      const runs = await syncDemoSandboxes(server.orm, sandboxes, configPath);
      const portal = await demoKey(server.orm, Role.PORTAL, 'JUNCTION_DEMO_PORTAL_KEY');
      const admin = await demoKey(server.orm, Role.ADMIN, 'JUNCTION_DEMO_ADMIN_KEY');
      const out = process.stdout;
      out.write(`junction demo: data loaded ${JSON.stringify(summary)}\n`);
      out.write(`junction demo: sandboxes crm ${sandboxes.urls.crm}  erp ${sandboxes.urls.erp}  iot ${sandboxes.urls.iot}  mes ${sandboxes.urls.mes} (connector config in ${configPath})\n`);
      for (const r of runs) {
        out.write(`junction demo: sync ${r.connector}/${r.stream}: ${r.status} fetched ${r.fetched}, merged ${r.merged}, unchanged ${r.unchanged}, failed ${r.failed}${r.error ? ` (${r.error})` : ''}\n`);
      }
      out.write(`junction demo: portal key ${process.env.JUNCTION_DEMO_PORTAL_KEY ? '(from JUNCTION_DEMO_PORTAL_KEY)' : portal.key}\n`);
      out.write(`junction demo: admin key  ${process.env.JUNCTION_DEMO_ADMIN_KEY ? '(from JUNCTION_DEMO_ADMIN_KEY)' : admin.key}\n`);
      out.write(`junction demo: GraphQL at http://localhost:${server.port}/graphql (ready)\n`);
    });
}
