import type { Command } from 'commander';
import { loadConfig } from '../config';
import { startServer } from '../server/app';
import { onShutdown } from './shutdown';

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('Run the GraphQL gateway (PORT, default 4000; GraphQL at /graphql, /healthz, /readyz)')
    .action(async () => {
      const config = loadConfig();
      const server = await startServer({ port: config.port });
      process.stdout.write(`junction: GraphQL at http://localhost:${server.port}/graphql\n`);
      onShutdown(() => server.close());
    });
}
