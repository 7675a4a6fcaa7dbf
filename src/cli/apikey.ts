import type { Command } from 'commander';
import { createApiKey, listApiKeys, revokeApiKey } from '../auth/api-keys';
import { loadConfig } from '../config';
import { openOrm } from '../db/orm';

async function withOrm<T>(fn: (orm: Awaited<ReturnType<typeof openOrm>>) => Promise<T>): Promise<T> {
  const orm = await openOrm(loadConfig().databaseUrl);
  try {
    return await fn(orm);
  } finally {
    await orm.close(true);
  }
}

export function registerApiKeyCommands(program: Command): void {
  const apikey = program.command('apikey').description('Manage API keys (only their hashes are stored)');
  apikey
    .command('create')
    .description('Create a key and print it once')
    .requiredOption('--role <role>', 'portal, admin or batch')
    .option('--name <name>', 'who or what uses the key', 'cli')
    .action(async (opts: { role: string; name: string }) => {
      const { id, key } = await withOrm((orm) => createApiKey(orm, { name: opts.name, role: opts.role }));
      process.stdout.write(`${key}\n`);
      process.stderr.write(`created key ${id} (${opts.role}, "${opts.name}"); store it now, it is not shown again\n`);
    });
  apikey
    .command('list')
    .description('List keys (never the keys themselves)')
    .action(async () => {
      for (const k of await withOrm(listApiKeys)) {
        process.stdout.write(`${k.id}\t${k.role}\t${k.name}\t${k.prefix}…\t${k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : 'active'}\n`);
      }
    });
  apikey
    .command('revoke <id>')
    .description('Revoke a key by id')
    .action(async (id: string) => {
      const done = await withOrm((orm) => revokeApiKey(orm, id));
      process.stdout.write(done ? `revoked ${id}\n` : `no active key ${id}\n`);
      if (!done) process.exitCode = 1;
    });
}
