/**
 * The canonical change an outbox row carries: what the ticket says now, which fields changed, the
 * parties, and the target record. Outbound mappings (mappings/<type>/<target>.out.jsonata) turn it
 * into the vendor's payload; it is stored as the row's `payload`.
 */
export interface CanonicalChange {
  /** "Junction ticket T20260218-8892": every write is tagged with the ticket it came from. */
  tag: string;
  changed: string[];
  ticket: {
    number: string;
    version: number;
    status: string;
    priority: string;
    fault: string;
    solution: string | null;
    blockingReason: string | null;
    category: { level1: string | null; level2: string | null; level3: string | null };
    resolvedAt: string | null;
    closedAt: string | null;
    updatedAt: string;
  };
  customer: { id: string; name: string | null; phone: string | null };
  device: { id: string; serial: string; model: string | null } | null;
  /** The record written to: the source link of the route's target entity in that connector. */
  target: { entity: string; stream: string; externalId: string; version: string | null };
}

export function ticketTag(number: string): string {
  return `Junction ticket ${number}`;
}
