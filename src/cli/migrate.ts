import type { Command } from 'commander';
import { loadConfig } from '../config';
import { ensureDatabase } from '../db/ensure-database';
import { migrate, openOrm } from '../db/orm';

/** Creates the database if needed and applies committed migrations; returns their names. */
export async function migrateDatabase(databaseUrl: string): Promise<string[]> {
  await ensureDatabase(databaseUrl);
  const orm = await openOrm(databaseUrl);
  try {
    return await migrate(orm);
  } finally {
    await orm.close(true);
  }
}

export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('Apply pending database migrations (creates the database if it does not exist)')
    .action(async () => {
      const applied = await migrateDatabase(loadConfig().databaseUrl);
      process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n');
    });
}
