#!/usr/bin/env node
import 'reflect-metadata';
import { Command } from 'commander';
import { registerApiKeyCommands } from './apikey';
import { registerDemoCommand } from './demo';
import { registerMigrateCommand } from './migrate';
import { registerSchemaCommands } from './schema';
import { registerServeCommand } from './serve';

/** One binary, several roles: serve, migrate, apikey, schema, demo (later: worker, sync, excel, mapping). */
const program = new Command()
  .name('junction')
  .description('Junction: GraphQL master-data hub for service operations')
  .showHelpAfterError();

registerServeCommand(program);
registerMigrateCommand(program);
registerApiKeyCommands(program);
registerSchemaCommands(program);
registerDemoCommand(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  const err = e as { message?: string; extensions?: Record<string, unknown> };
  process.stderr.write(`junction: ${err.message ?? String(e)}\n`);
  process.exit(1);
});
