import 'reflect-metadata';
import { GraphQLSchema, lexicographicSortSchema, printSchema } from 'graphql';
import { buildSchemaSync } from 'type-graphql';
import { authChecker } from './context';
import { ApiKeyResolver } from './resolvers/api-keys';
import { CustomerConnectionResolver, TicketConnectionResolver } from './resolvers/connections';
import { CustomerResolver } from './resolvers/customer';
import { CustomerDataIssuesResolver, DataIssueConnectionResolver, DataIssueResolver } from './resolvers/data-issues';
import { DeviceResolver, SparePartResolver } from './resolvers/device';
import { ExcelResolver } from './resolvers/excel';
import { GoldenFieldsResolver } from './resolvers/golden-fields';
import { LookupResolver } from './resolvers/lookup';
import { MappingResolver } from './resolvers/mappings';
import { SuggestionResolver } from './resolvers/suggestions';
import { SyncResolver, SyncRunConnectionResolver } from './resolvers/sync';
import { TicketResolver } from './resolvers/ticket';
import { WebhookResolver } from './resolvers/webhooks';
import { TicketWriteBackResolver, WriteBackConnectionResolver, WriteBackResolver } from './resolvers/writeback';

let cached: GraphQLSchema | null = null;

/** The gateway schema, built once per process from the type-graphql classes. */
export function buildGatewaySchema(): GraphQLSchema {
  cached ??= buildSchemaSync({
    resolvers: [
      LookupResolver, CustomerResolver, DeviceResolver, SparePartResolver, TicketResolver,
      CustomerConnectionResolver, TicketConnectionResolver, ApiKeyResolver, MappingResolver,
      SyncResolver, SyncRunConnectionResolver, ExcelResolver, WebhookResolver,
      DataIssueResolver, DataIssueConnectionResolver, CustomerDataIssuesResolver,
      WriteBackResolver, WriteBackConnectionResolver, TicketWriteBackResolver,
      SuggestionResolver, GoldenFieldsResolver,
    ],
    authChecker,
    authMode: 'error',
    validate: false,
  });
  return cached;
}

/** The SDL committed as schema/schema.graphql (sorted, so it diffs cleanly). */
export function printGatewaySchema(): string {
  return printSchema(lexicographicSortSchema(buildGatewaySchema())) + '\n';
}
