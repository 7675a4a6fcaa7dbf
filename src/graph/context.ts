import type { MikroORM } from '@mikro-orm/postgresql';
import type { AuthChecker } from 'type-graphql';
import type { AuthInfo } from '../auth/api-keys';
import { roleAllows, Role } from '../auth/roles';
import { ErrorCode, JunctionError } from '../errors/codes';
import type { SyncRequests } from '../sync/requests';
import type { MappingStore } from '../mapping/store';
import type { TicketService } from '../tickets/ticket-service';
import type { WritebackAdmin } from '../writeback/admin';
import type { Loaders } from './loaders';

/** Per-request state: who is asking, the database, and this request's DataLoaders. */
export interface GraphContext {
  orm: MikroORM;
  auth: AuthInfo;
  loaders: Loaders;
  tickets: TicketService;
  /** Queues sync runs (runSync); absent where no queue is configured. */
  sync?: SyncRequests;
  /** Mapping admin (list, preview, save, rollback); absent where a gateway was built without it. */
  mappings?: MappingStore;
  /** Write-back admin (retry, discard); absent where no queue is configured. */
  writeback?: WritebackAdmin;
}

/** `@Authorized(Role.X)` on root fields; admin passes every check. */
export const authChecker: AuthChecker<GraphContext, Role> = ({ context, info }, roles) => {
  if (roleAllows(context.auth.role, roles)) return true;
  throw new JunctionError(
    ErrorCode.FORBIDDEN,
    `The ${context.auth.role} key "${context.auth.name}" may not use ${info.parentType.name}.${info.fieldName} (needs ${roles.join(' or ') || 'admin'})`,
    { field: info.fieldName },
  );
};

export function actorOf(ctx: GraphContext) {
  return { name: `apikey:${ctx.auth.name}`, origin: 'graphql' };
}
