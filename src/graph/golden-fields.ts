import type { MikroORM } from '@mikro-orm/postgresql';
import type { FieldLineage, LineageMap } from '../db/entities/base';
import { decodeLineage, encodeLineage } from '../db/lineage';
import { bulkExecutor, Exec } from '../db/sql';
import type { TicketEnricher } from '../enrichment/enricher';
import { badInput, ErrorCode, JunctionError, notFound } from '../errors/codes';
import { normalizePhone, normalizeSerial } from '../identity/normalize';
import { MERGE_LOCK } from '../sync/merge';
import { MANUAL_SYSTEM } from '../sync/survivorship';

/**
 * Golden customer and device fields set by hand (admin API). One transaction per call: the merge
 * lock (so no sync merge decides on a stale read of the row meanwhile: a merge reads, decides, then
 * writes every field and the lineage back), the row lock, the optional version check, the values,
 * the field's lineage `{system: 'manual', stream: 'graphql', externalId: <actor>, actor, at, pinned}`
 * (stored compact, like the merge), the version bump, one audit row per change, and the open
 * tickets' enrichment refreshed. A pinned value stays whatever sync brings (survivorship.ts); an
 * unpinned one is a correction the next differing source value replaces.
 */

export interface EditActor {
  name: string;
  origin: string;
}

type Kind = 'text' | 'date' | 'id';

interface Spec {
  table: 'customer' | 'device';
  /** canonical field → column (as in the merge's GOLDEN spec). */
  fields: Record<string, { column: string; kind: Kind; required?: boolean }>;
}

const SPECS: Record<'customer' | 'device', Spec> = {
  customer: {
    table: 'customer',
    fields: { name: { column: 'name', kind: 'text', required: true }, tier: { column: 'tier', kind: 'text' }, region: { column: 'region', kind: 'text' } },
  },
  device: {
    table: 'device',
    fields: {
      model: { column: 'model', kind: 'text' }, firmware: { column: 'firmware', kind: 'text' },
      purchaseDate: { column: 'purchase_date', kind: 'date' }, warrantyEnd: { column: 'warranty_end', kind: 'date' },
      owner: { column: 'owner_id', kind: 'id' },
    },
  },
};

/** What one call changes on one record. */
export interface GoldenEdit {
  entity: 'customer' | 'device';
  /** Customer id, or device serial as given. */
  key: string;
  /** Values to set (canonical field → value, null clears); already checked by `check*Input`. */
  set?: Record<string, unknown>;
  /** With `set`: whether the values are pinned. */
  pin?: boolean;
  /** Fields to unpin (their values stay). */
  unpin?: string[];
  expectedVersion?: number | null;
}

const ID_RE = /^\d{1,19}$/;

function checkDate(value: string, field: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const d = m ? new Date(`${value}T00:00:00Z`) : null;
  if (!m || !d || Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== value) {
    throw badInput(`${field}: "${value}" is not a date written YYYY-MM-DD`, field);
  }
  return value;
}

function checkText(value: unknown, field: string, required: boolean): string | null {
  if (value === null) {
    if (required) throw badInput(`${field} cannot be cleared`, field);
    return null;
  }
  const text = String(value).trim();
  if (!text) throw badInput(`${field} is empty${required ? '' : ' (give null to clear it)'}`, field);
  return text;
}

/** Customer input → values to set (trimmed, checked); BAD_USER_INPUT names the field. */
export function checkCustomerInput(input: { name?: string | null; tier?: string | null; region?: string | null }): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [field, spec] of Object.entries(SPECS.customer.fields)) {
    const v = (input as Record<string, unknown>)[field];
    if (v !== undefined) out[field] = checkText(v, `input.${field}`, !!spec.required);
  }
  if (!Object.keys(out).length) throw badInput('Give at least one field to set', 'input');
  return out;
}

/**
 * Device input → values to set; the owner stays a reference (`{phone}` or `{id}`) until the
 * transaction resolves it.
 */
export function checkDeviceInput(input: {
  model?: string | null; firmware?: string | null; purchaseDate?: string | null; warrantyEnd?: string | null;
  ownerPhone?: string | null; ownerId?: string | null;
}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of ['model', 'firmware'] as const) {
    if (input[field] !== undefined) out[field] = checkText(input[field], `input.${field}`, false);
  }
  for (const field of ['purchaseDate', 'warrantyEnd'] as const) {
    const v = input[field];
    if (v !== undefined) out[field] = v === null ? null : checkDate(String(v).trim(), `input.${field}`);
  }
  const { ownerPhone, ownerId } = input;
  if (ownerPhone != null && ownerId != null) throw badInput('Give the owner by ownerPhone or by ownerId, not both', 'input.ownerId');
  if (ownerPhone != null) {
    const e164 = normalizePhone(ownerPhone);
    if (!e164) throw badInput(`input.ownerPhone: "${ownerPhone}" is not a valid phone number`, 'input.ownerPhone');
    out.owner = { phone: e164 };
  } else if (ownerId != null) {
    if (!ID_RE.test(String(ownerId))) throw badInput(`input.ownerId: "${ownerId}" is not a customer id`, 'input.ownerId');
    out.owner = { id: String(ownerId) };
  } else if (ownerPhone === null || ownerId === null) {
    out.owner = null;
  }
  if (!Object.keys(out).length) throw badInput('Give at least one field to set', 'input');
  return out;
}

/** Database value → the form the merge compares and audits (dates as text, ids as text). */
function normalized(value: unknown, kind: Kind): unknown {
  if (value === null || value === undefined) return null;
  if (kind === 'date') return typeof value === 'string' ? value.slice(0, 10) : (value as Date).toISOString().slice(0, 10);
  if (kind === 'id') return String(value);
  return value;
}

async function resolveOwner(exec: Exec, ref: { phone?: string; id?: string }): Promise<string> {
  const rows = ref.phone !== undefined
    ? await exec<{ id: string }>('select id from customer where phone = ?', [ref.phone])
    : await exec<{ id: string }>('select id from customer where id = ?::bigint', [ref.id]);
  if (!rows.length) {
    const field = ref.phone !== undefined ? 'input.ownerPhone' : 'input.ownerId';
    throw notFound(`${field}: no customer ${ref.phone !== undefined ? `has phone ${ref.phone}` : `has id ${ref.id}`}`, { field, recordId: ref.phone ?? ref.id });
  }
  return String(rows[0].id);
}

/** Applies one hand edit in its own transaction; returns the row as stored afterwards. */
export async function editGolden(orm: MikroORM, enricher: TicketEnricher | null, edit: GoldenEdit, actor: EditActor): Promise<Record<string, any>> {
  const spec = SPECS[edit.entity];
  let where: string;
  let param: string;
  if (edit.entity === 'customer') {
    if (!ID_RE.test(edit.key)) throw badInput(`"${edit.key}" is not a customer id`, 'id');
    where = 'id = ?::bigint';
    param = edit.key;
  } else {
    const serial = normalizeSerial(edit.key);
    if (!serial) throw badInput(`"${edit.key}" is not a serial`, 'serial');
    where = 'serial = ?';
    param = serial;
  }
  return orm.em.fork().transactional(async (em) => {
    const exec = bulkExecutor(em);
    // Same order as a merge (merge lock, then rows): never a deadlock with one.
    await exec(`select pg_advisory_xact_lock(${MERGE_LOCK})`);
    const [row] = await exec<Record<string, any>>(`select * from ${spec.table} where ${where} for update`, [param]);
    if (!row) throw notFound(`No ${edit.entity} ${edit.entity === 'customer' ? 'with id' : 'with serial'} ${param}`, { field: edit.entity === 'customer' ? 'id' : 'serial', recordId: param });
    if (edit.expectedVersion != null && edit.expectedVersion !== row.version) {
      throw new JunctionError(
        ErrorCode.CONFLICT,
        `${edit.entity} ${param} is at version ${row.version}, not ${edit.expectedVersion}: someone changed it; reload and retry`,
        { field: 'expectedVersion', recordId: param, currentVersion: row.version },
      );
    }
    const lineage: LineageMap = { ...decodeLineage(row.lineage) };
    const at = new Date().toISOString();
    const audit: Array<{ field: string; before: unknown; after: unknown }> = [];
    const sets: string[] = [];
    const params: unknown[] = [];

    for (const [field, value0] of Object.entries(edit.set ?? {})) {
      const col = spec.fields[field];
      let value = value0;
      if (field === 'owner' && value !== null) value = await resolveOwner(exec, value as { phone?: string; id?: string });
      const before = normalized(row[col.column], col.kind);
      if (before !== value) {
        audit.push({ field, before, after: value });
        sets.push(`${col.column} = ?${col.kind === 'date' ? '::date' : col.kind === 'id' ? '::bigint' : ''}`);
        params.push(value);
      }
      const wasPinned = !!lineage[field]?.pinned;
      if (wasPinned !== !!edit.pin) audit.push({ field: `${field}.pinned`, before: wasPinned, after: !!edit.pin });
      lineage[field] = { system: MANUAL_SYSTEM, stream: 'graphql', externalId: actor.name, actor: actor.name, at, pinned: !!edit.pin } as FieldLineage;
    }
    for (const field of edit.unpin ?? []) {
      const l = lineage[field];
      if (!l?.pinned) continue; // not pinned: nothing to do (unpinning is idempotent)
      audit.push({ field: `${field}.pinned`, before: true, after: false });
      lineage[field] = { ...l, pinned: false };
    }
    if (!audit.length) return row; // the same values, pinned the same way: nothing to write

    const [updated] = await exec<Record<string, any>>(
      `update ${spec.table} set ${[...sets, 'lineage = ?::jsonb', 'version = version + 1', 'updated_at = now()'].join(', ')} where id = ? returning *`,
      [...params, encodeLineage(lineage), row.id],
    );
    if (audit.length) {
      await exec(
        `insert into audit_log (entity_type, entity_id, field, before, after, actor, origin)
         select ?, ?, field, before, after, ?, ? from jsonb_to_recordset(?::jsonb) x(field text, before jsonb, after jsonb)`,
        [edit.entity, row.id, actor.name, actor.origin, JSON.stringify(audit)],
      );
    }
    // Open tickets of this customer or device derive their enrichment again (tier, warranty...), as after a sync.
    if (enricher && sets.length) await enricher.afterMerge(em, [{ entity: edit.entity, id: String(row.id) }], actor);
    return updated;
  });
}
