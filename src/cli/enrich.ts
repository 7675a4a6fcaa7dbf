import type { Command } from 'commander';
import { loadConfig } from '../config';
import { openOrm } from '../db/orm';
import { enrichOpenTickets } from '../enrichment/backfill';
import { TicketEnricher } from '../enrichment/enricher';
import { MappingEngine } from '../mapping/engine';
import { MappingStore } from '../mapping/store';

export function registerEnrichCommand(program: Command): void {
  program
    .command('enrich')
    .description('Derive the enrichment of every open ticket again (after an upgrade or a new ticket/enrich mapping)')
    .action(async () => {
      const orm = await openOrm(loadConfig().databaseUrl);
      try {
        const mappings = new MappingStore(orm, new MappingEngine());
        await mappings.loadActive(); // an admin's saved ticket/enrich version applies
        const r = await enrichOpenTickets(orm, new TicketEnricher(mappings.engine), { name: 'cli', origin: 'cli:enrich' });
        process.stdout.write(`open tickets checked: ${r.checked}, changed: ${r.changed}\n`);
      } finally {
        await orm.close(true);
      }
    });
}
