/**
 * Write-back routes: which ticket changes go to which connector, operation and outbound mapping.
 * Data (routes.json, or $JUNCTION_WRITEBACK_ROUTES), checked once when first used.
 */
import { readFileSync } from 'fs';
import defaultRoutes from './routes.json';

export type RouteOrdering = 'latest' | 'append';

export interface WritebackRoute {
  name: string;
  connector: string;
  operation: string;
  mapping: string;
  fields: string[];
  status?: string[];
  target: { entity: 'customer' | 'device' | 'complaint'; stream: string };
  recordPer?: 'ticket' | 'target';
  ordering: RouteOrdering;
  /** Survivorship of the written field when the target changed under us: systems in priority order. */
  conflict?: { field: string; winner: string[] };
}

export function parseRoutes(raw: unknown, source: string): WritebackRoute[] {
  const list = (raw as { routes?: unknown })?.routes;
  if (!Array.isArray(list)) throw new Error(`${source}: expected {"routes": [...]}`);
  const names = new Set<string>();
  return list.map((r: any, i: number) => {
    const where = `${source}: routes[${i}]`;
    for (const f of ['name', 'connector', 'operation', 'mapping'] as const) {
      if (typeof r?.[f] !== 'string' || !r[f]) throw new Error(`${where}.${f} must be a non-empty string`);
    }
    if (names.has(r.name)) throw new Error(`${where}: duplicate route name ${r.name}`);
    names.add(r.name);
    if (!/^[a-z0-9_-]+\/[a-z0-9_-]+$/i.test(r.mapping)) throw new Error(`${where}.mapping must be <connector type>/<target>`);
    if (!Array.isArray(r.fields) || !r.fields.length || r.fields.some((f: unknown) => typeof f !== 'string')) throw new Error(`${where}.fields must list ticket fields`);
    if (r.status !== undefined && (!Array.isArray(r.status) || r.status.some((s: unknown) => typeof s !== 'string'))) throw new Error(`${where}.status must list ticket statuses`);
    if (!['customer', 'device', 'complaint'].includes(r.target?.entity) || typeof r.target?.stream !== 'string') {
      throw new Error(`${where}.target must be {entity: customer|device|complaint, stream}`);
    }
    if (r.recordPer !== undefined && !['ticket', 'target'].includes(r.recordPer)) throw new Error(`${where}.recordPer must be ticket or target`);
    if (!['latest', 'append'].includes(r.ordering)) throw new Error(`${where}.ordering must be latest or append`);
    if (r.conflict !== undefined && (typeof r.conflict.field !== 'string' || !Array.isArray(r.conflict.winner))) {
      throw new Error(`${where}.conflict must be {field, winner: [systems]}`);
    }
    return r as WritebackRoute;
  });
}

const cache = new Map<string, WritebackRoute[]>();

/** The routes in force: $JUNCTION_WRITEBACK_ROUTES when set, else src/writeback/routes.json (cached). */
export function loadRoutes(file = process.env.JUNCTION_WRITEBACK_ROUTES || ''): WritebackRoute[] {
  let routes = cache.get(file);
  if (!routes) {
    routes = file ? parseRoutes(JSON.parse(readFileSync(file, 'utf8')), file) : parseRoutes(defaultRoutes, 'src/writeback/routes.json');
    cache.set(file, routes);
  }
  return routes;
}

/** Routes a change of `changed` fields fires, the ticket now being in `status`. */
export function routesFor(routes: WritebackRoute[], changed: string[], status: string): WritebackRoute[] {
  return routes.filter((r) => r.fields.some((f) => changed.includes(f)) && (!r.status || r.status.includes(status)));
}
