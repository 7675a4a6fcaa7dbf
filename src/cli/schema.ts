import { readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import type { Command } from 'commander';
import { printGatewaySchema } from '../graph/schema';

export const SCHEMA_FILE = join(__dirname, '..', '..', '..', 'schema', 'schema.graphql');

export function registerSchemaCommands(program: Command): void {
  const schema = program.command('schema').description('The committed GraphQL schema (schema/schema.graphql)');
  schema
    .command('print')
    .description('Write schema/schema.graphql from the code')
    .action(() => {
      writeFileSync(SCHEMA_FILE, printGatewaySchema());
      process.stdout.write(`wrote ${SCHEMA_FILE}\n`);
    });
  schema
    .command('check')
    .description('Fail when schema/schema.graphql differs from the code')
    .action(() => {
      const committed = readFileSync(SCHEMA_FILE, 'utf8');
      if (committed !== printGatewaySchema()) {
        process.stderr.write('schema/schema.graphql is out of date: run `npm run schema:print` and commit it\n');
        process.exitCode = 1;
        return;
      }
      process.stdout.write('schema/schema.graphql matches the code\n');
    });
}
