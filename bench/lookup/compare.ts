/**
 * Normalizes a lookup answer (hub or SQL) to the fields both must agree on, so that scalar
 * encodings (bigint as string or number, numeric as "12.00" or 12, timestamps with or without
 * microseconds) and the order of unordered lists do not count as differences.
 */

const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const money = (v: unknown): string | null => (v === null || v === undefined ? null : Number(v).toFixed(2));
const day = (v: unknown): string | null => (v === null || v === undefined ? null : String(v).slice(0, 10));
const instant = (v: unknown): string | null => {
  if (v === null || v === undefined) return null;
  const d = new Date(String(v));
  return Number.isNaN(d.getTime()) ? `invalid:${String(v)}` : d.toISOString();
};
const by = <T>(key: (x: T) => string) => (a: T, b: T): number => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);

export function canonicalCustomer(c: any): unknown {
  if (!c) return null;
  return {
    id: str(c.id),
    phone: c.phone,
    name: c.name,
    tier: c.tier ?? null,
    region: c.region ?? null,
    stats: {
      ticketCount: num(c.stats?.ticketCount),
      openTicketCount: num(c.stats?.openTicketCount),
      resolvedTicketCount: num(c.stats?.resolvedTicketCount),
      resolutionRate: c.stats?.resolutionRate == null ? null : Number(Number(c.stats.resolutionRate).toFixed(4)),
    },
    devices: [...(c.devices ?? [])].sort(by((d: any) => String(d.serial))).map((d: any) => ({
      id: str(d.id),
      serial: d.serial,
      model: d.model ?? null,
      firmware: d.firmware ?? null,
      purchaseDate: day(d.purchaseDate),
      warrantyEnd: day(d.warrantyEnd),
      warrantyStatus: d.warrantyStatus ?? null,
      telemetry: d.telemetry
        ? {
            online: d.telemetry.online ?? null,
            lastSeenAt: instant(d.telemetry.lastSeenAt),
            runCount: str(d.telemetry.runCount),
            alerts: [...(d.telemetry.alerts ?? [])].map(String).sort(),
          }
        : null,
      purchases: [...(d.purchases ?? [])]
        .map((p: any) => ({
          orderNumber: p.orderNumber, lineNo: num(p.lineNo), model: p.model ?? null,
          quantity: num(p.quantity), amount: money(p.amount), orderedAt: day(p.orderedAt),
        }))
        .sort(by((p) => `${p.orderNumber}#${p.lineNo}`)),
      compatibleSpareParts: [...(d.compatibleSpareParts ?? [])]
        .map((p: any) => ({
          code: p.code, name: p.name, totalStock: num(p.totalStock),
          stock: [...(p.stock ?? [])].map((s: any) => ({ warehouse: s.warehouse, quantity: num(s.quantity) })).sort(by((s) => s.warehouse)),
        }))
        .sort(by((p) => p.code)),
    })),
    tickets: {
      totalCount: num(c.tickets?.totalCount),
      hasNextPage: Boolean(c.tickets?.pageInfo?.hasNextPage),
      endCursor: c.tickets?.pageInfo?.endCursor ?? null,
      // Order matters here: both sides must return the latest tickets first.
      nodes: (c.tickets?.edges ?? []).map((e: any) => ({
        number: e.node.number,
        status: e.node.status,
        priority: e.node.priority,
        fault: e.node.fault,
        solution: e.node.solution ?? null,
        createdAt: instant(e.node.createdAt),
        history: (e.node.history ?? []).map((h: any) => ({
          type: h.type, fromStatus: h.fromStatus ?? null, toStatus: h.toStatus ?? null, actor: h.actor, at: instant(h.at),
        })),
      })),
    },
  };
}

/** Paths where two JSON values differ (at most `limit`). */
export function diff(a: unknown, b: unknown, path = '$', out: string[] = [], limit = 10): string[] {
  if (out.length >= limit) return out;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) out.push(`${path}: length ${a.length} vs ${b.length}`);
    for (let i = 0; i < Math.min(a.length, b.length); i++) diff(a[i], b[i], `${path}[${i}]`, out, limit);
    return out;
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) diff((a as any)[k], (b as any)[k], `${path}.${k}`, out, limit);
    return out;
  }
  if (a !== b) out.push(`${path}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
  return out;
}
