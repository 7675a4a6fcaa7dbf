import 'reflect-metadata';
import { Command } from 'commander';
import { registerApiKeyCommands } from './apikey';
import { registerChecksCommands } from './checks';
import { registerDemoCommand } from './demo';
import { registerEnrichCommand } from './enrich';
import { registerExcelCommands } from './excel';
import { registerMappingCommands } from './mapping';
import { registerMigrateCommand } from './migrate';
import { registerSchemaCommands } from './schema';
import { registerServeCommand } from './serve';
import { registerSyncCommand } from './sync';
import { registerWorkerCommand } from './worker';

/** The commands of `junction` (entry: main.ts). One binary, several roles: serve, worker, sync, migrate, apikey, schema, demo, excel, checks, enrich, mapping. */
const program = new Command()
  .name('junction')
  .description('Junction: GraphQL master-data hub for service operations')
  .showHelpAfterError();

registerServeCommand(program);
registerMigrateCommand(program);
registerApiKeyCommands(program);
registerSchemaCommands(program);
registerDemoCommand(program);
registerWorkerCommand(program);
registerSyncCommand(program);
registerExcelCommands(program);
registerChecksCommands(program);
registerEnrichCommand(program);
registerMappingCommands(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  const err = e as { message?: string; extensions?: Record<string, unknown> };
  process.stderr.write(`junction: ${err.message ?? String(e)}\n`);
  process.exit(1);
});
