import { ApolloServer } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginUsageReportingDisabled } from '@apollo/server/plugin/disabled';
import { GraphQLError, GraphQLFormattedError } from 'graphql';
import type { JunctionConfig } from '../config';
import { ErrorCode, JunctionError } from '../errors/codes';
import type { GraphContext } from '../graph/context';
import { queryLimitsPlugin } from '../graph/limits';
import { storableInputPlugin } from '../graph/storable-input';
import { buildGatewaySchema } from '../graph/schema';
import { logger } from '../logging/logger';

/** Codes whose messages are meant for clients; anything else is masked in production. */
const CLIENT_CODES = new Set<string>([
  ...Object.values(ErrorCode).filter((c) => c !== ErrorCode.INTERNAL_SERVER_ERROR),
  'GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_REQUEST', 'PERSISTED_QUERY_NOT_FOUND', 'OPERATION_RESOLUTION_FAILURE',
]);

export function formatError(production: boolean) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    const code = String(formatted.extensions?.code ?? ErrorCode.INTERNAL_SERVER_ERROR);
    if (CLIENT_CODES.has(code) || original instanceof JunctionError) {
      // graphql-js suggests valid names ("Did you mean ...?"); that would leak the schema when introspection is off.
      return { ...formatted, message: formatted.message.replace(/\s*Did you mean [^?]*\?/g, '') };
    }
    // Unexpected failure: log it whole here, tell the client only that it happened.
    logger.error('graphql request failed', {
      path: formatted.path, message: original instanceof Error ? original.message : String(original),
      stack: original instanceof Error ? original.stack : undefined,
    });
    if (!production) return formatted;
    return { message: 'Internal server error', path: formatted.path, locations: formatted.locations, extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } };
  };
}

export function createApollo(config: JunctionConfig): ApolloServer<GraphContext> {
  return new ApolloServer<GraphContext>({
    schema: buildGatewaySchema(),
    // No HTTP cache hints and no Apollo usage reporting: both would wrap every field resolver.
    plugins: [
      queryLimitsPlugin(config.maxQueryDepth, config.maxQueryCost),
      storableInputPlugin(),
      ApolloServerPluginCacheControlDisabled(),
      ApolloServerPluginUsageReportingDisabled(),
    ],
    hideSchemaDetailsFromClientErrors: true,
    introspection: !config.production,
    includeStacktraceInErrorResponses: !config.production,
    formatError: formatError(config.production),
  });
}

export function unauthenticated(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.UNAUTHENTICATED, http: { status: 401 } } });
}
