import type { EntityManager } from '@mikro-orm/postgresql';
import type { FieldLineage, LineageMap } from '../db/entities/base';
import { decodeLineage, encodeLineage } from '../db/lineage';
import { PipelinedExec } from '../db/pipelined';
import { bulkExecutor, Exec } from '../db/sql';
import { CanonicalRecord, CustomerRef, EntityName, RecordError } from './canonical';
import { sameValue } from './same-value';
import { incomingWins } from './survivorship';

/** Where a batch comes from: written into lineage, source links and the audit log. */
export interface MergeSource {
  connector: string;
  system: string;
  stream: string;
}

/** One canonical record with the source record it came from. */
export interface MergeItem {
  /** Index of the source record in the page (errors are reported against it). */
  index: number;
  externalId: string;
  version: string | null;
  /** When the source says the record changed (else when it was fetched): decides recency. */
  at: string;
  record: CanonicalRecord;
}

type SqlType = 'text' | 'date' | 'timestamptz' | 'int' | 'bigint' | 'numeric' | 'boolean' | 'jsonb';

interface Column {
  column: string;
  type: SqlType;
  /** SQL used for a new row when no source gave a value (NOT NULL columns). */
  default?: string;
  /**
   * NOT NULL without a default (see the migrations): a record that would create a row without a
   * value for it fails alone (MISSING_FIELD) instead of failing the page's insert (23502).
   */
  required?: true;
  /** Digits after the point of a numeric column: values are compared (and stored) at that scale. */
  scale?: number;
}

/** Golden tables merged field by field with survivorship and lineage. */
interface GoldenSpec {
  table: string;
  /** Natural key: canonical field → column. */
  key: Record<string, Column>;
  /** Other fields: canonical field → column (references already resolved to ids). */
  fields: Record<string, Column>;
}

const GOLDEN: Partial<Record<EntityName, GoldenSpec>> = {
  customer: {
    table: 'customer',
    key: { phone: { column: 'phone', type: 'text' } },
    fields: { name: { column: 'name', type: 'text', required: true }, tier: { column: 'tier', type: 'text' }, region: { column: 'region', type: 'text' } },
  },
  device: {
    table: 'device',
    key: { serial: { column: 'serial', type: 'text' } },
    fields: {
      model: { column: 'model', type: 'text' }, firmware: { column: 'firmware', type: 'text' },
      purchaseDate: { column: 'purchase_date', type: 'date' }, warrantyEnd: { column: 'warranty_end', type: 'date' },
      owner: { column: 'owner_id', type: 'bigint' },
    },
  },
  purchase: {
    table: 'purchase',
    key: { orderNumber: { column: 'order_number', type: 'text' }, lineNo: { column: 'line_no', type: 'int' } },
    fields: {
      customer: { column: 'customer_id', type: 'bigint' }, serial: { column: 'device_id', type: 'bigint' }, model: { column: 'model', type: 'text' },
      quantity: { column: 'quantity', type: 'int', default: '1' }, amount: { column: 'amount', type: 'numeric', scale: 2 },
      currency: { column: 'currency', type: 'text', default: `'CNY'` },
      orderedAt: { column: 'ordered_at', type: 'date' },
    },
  },
  telemetry: {
    table: 'telemetry',
    key: { serial: { column: 'device_id', type: 'bigint' } },
    fields: {
      online: { column: 'online', type: 'boolean' }, lastSeenAt: { column: 'last_seen_at', type: 'timestamptz' },
      runCount: { column: 'run_count', type: 'bigint' }, alerts: { column: 'alerts', type: 'jsonb', default: `'[]'::jsonb` },
    },
  },
  complaint: {
    table: 'complaint',
    key: { caseNumber: { column: 'case_number', type: 'text' } },
    fields: {
      customer: { column: 'customer_id', type: 'bigint' }, serial: { column: 'device_id', type: 'bigint' }, subject: { column: 'subject', type: 'text' },
      ticketNumber: { column: 'ticket_number', type: 'text' },
      status: { column: 'status', type: 'text', required: true }, openedAt: { column: 'opened_at', type: 'timestamptz' }, closedAt: { column: 'closed_at', type: 'timestamptz' },
    },
  },
};

/**
 * The near-duplicate check of a batch of new devices (see Merger.flagNearDuplicateDevices). Parameters:
 * the new devices as JSON `[{id, serial}]`, then the source (`connector/stream`) twice. Exported for
 * bench:excel's hand-written SQL baseline, which must do the same work.
 */
export const NEAR_DUPLICATE_DEVICES_SQL = `with n as (select * from jsonb_to_recordset(?::jsonb) n(id bigint, serial text))
   insert into data_issue (kind, severity, entity_type, entity_id, fingerprint, message, evidence)
   select distinct on (fingerprint) kind, severity, entity_type, entity_id, fingerprint, message, evidence from (
     select 'POSSIBLE_DUPLICATE' as kind, 'WARNING' as severity, 'device' as entity_type, p.new_id as entity_id,
            'POSSIBLE_DUPLICATE:device:' || least(p.new_serial, p.serial) || '|' || greatest(p.new_serial, p.serial) as fingerprint,
            format('Device serial %s (new, from %s) is %s with one character %s: not merged, check which is right',
                   p.new_serial, ?::text, p.serial, case when length(p.new_serial) > length(p.serial) then 'more' else 'less' end) as message,
            jsonb_build_object('newSerial', p.new_serial, 'newDeviceId', p.new_id, 'existingSerial', p.serial, 'existingDeviceId', p.id,
                               'existingModel', p.model, 'source', ?::text) as evidence
       from (
         -- the new serial with one character removed is a known serial (new has one more; one
         -- deletion per run of equal characters: the others give the same string) ...
         select n.id as new_id, n.serial as new_serial, d.id, d.serial, d.model
           from n cross join lateral generate_series(1, length(n.serial)) i
           cross join lateral (select d.id, d.serial, d.model from device d
                                where d.serial = substr(n.serial, 1, i - 1) || substr(n.serial, i + 1) limit 1) d
          where (i = 1 or substr(n.serial, i, 1) <> substr(n.serial, i - 1, 1)) and d.id <> n.id
         union all
         -- ... or the new serial is a known serial with one character removed (new has one less)
         select n.id, n.serial, d.id, d.serial, d.model
           from n cross join lateral (select d.id, d.serial, d.model from device d
                                       where d.id = any(array(select v.device_id from device_serial_variant v where v.variant = n.serial))) d
          where d.id <> n.id
       ) p
   ) found
   order by fingerprint, entity_id
   on conflict (fingerprint) do update set last_seen = now()`;

/** Entities merged in this order, so references (owner, customer, device) exist before they are used. */
export const MERGE_ORDER: EntityName[] = ['customer', 'device', 'spare_part', 'stock', 'purchase', 'complaint', 'telemetry'];

/** The advisory lock a merge holds until its transaction ends: merges run one at a time. */
export const MERGE_LOCK = 727200;

/** audit_log.field of the one row that records a golden record's creation; its `after` holds every value set. */
export const CREATED_FIELD = '(created)';

/**
 * Merges canonical records of one page into golden records inside the caller's transaction:
 * one read and one write per table (set-based), never one ORM flush per record. Returns the
 * items that could not be merged, with why.
 */
export class Merger {
  /** Statements whose answer is needed; `pipe.send` for those nothing waits for (links, audit, updates). */
  private readonly exec: Exec;
  private readonly pipe: PipelinedExec;
  private readonly errors = new Map<number, RecordError>();
  readonly audit: Array<{ entity: string; id: string; field: string; before: unknown; after: unknown; externalId: string }> = [];
  /** JSON of lineage objects already written (they are shared and never mutated, only replaced). */
  private readonly lineageText = new WeakMap<object, string>();
  private readonly links: Array<{ stream: string; externalId: string; entity: string; id: string; version: string | null }> = [];

  constructor(em: EntityManager, private readonly source: MergeSource) {
    this.pipe = new PipelinedExec(bulkExecutor(em));
    this.exec = this.pipe.query;
  }

  async merge(items: MergeItem[]): Promise<Map<number, RecordError>> {
    // Merges of the same entity type are serialized across workers (read-decide-write per batch).
    // Sent, not awaited: the next statement queues behind it, so nothing reads before the lock is held.
    this.pipe.send(`select pg_advisory_xact_lock(${MERGE_LOCK})`);
    for (const entity of MERGE_ORDER) {
      const batch = items.filter((i) => i.record.entity === entity && !this.errors.has(i.index));
      if (!batch.length) continue;
      if (entity === 'spare_part') await this.mergeParts(batch);
      else if (entity === 'stock') await this.mergeStock(batch);
      else await this.mergeGolden(entity, batch);
    }
    this.writeLinksAndAudit();
    await this.pipe.settle();
    return this.errors;
  }

  private fail(item: MergeItem, error: RecordError) {
    if (!this.errors.has(item.index)) this.errors.set(item.index, error);
  }

  /** A golden row as the JSON the insert and update read: `cols` (null when unset) and its lineage. */
  private rowJson(row: Record<string, any>, cols: string[]): string {
    let out = '{';
    for (const c of cols) out += `${encodedKey(c)}${JSON.stringify(row[c] ?? null)},`;
    return `${out}"lineage":${this.lineageJson(row.lineage)}}`;
  }

  /** A lineage map as stored (compact: each source once), each source's JSON written once however many rows share it. */
  private lineageJson(lineage: LineageMap | null | undefined): string {
    if (lineage === null || lineage === undefined) return 'null';
    return encodeLineage(lineage, this.sourceText);
  }

  private readonly sourceText = (l: FieldLineage): string => {
    let text = this.lineageText.get(l);
    if (text === undefined) {
      text = JSON.stringify(l);
      if (typeof l === 'object' && l !== null) this.lineageText.set(l, text);
    }
    return text;
  };

  private lineage(item: MergeItem): FieldLineage & { connector: string } {
    return { system: this.source.system, connector: this.source.connector, stream: this.source.stream, externalId: item.externalId, at: item.at };
  }

  /**
   * Customer references (phone and/or a record of this connector) to customer ids: the phone's
   * customer, else the customer the referenced record was merged into. One unique-key probe per
   * distinct reference (scalar subqueries are always evaluated per row, so no plan reads all of
   * a system's links or customers, whatever the statistics say); a link whose customer no longer
   * exists resolves to nothing rather than to a dangling id.
   */
  private async resolveCustomers(refs: CustomerRef[]): Promise<(string | null)[]> {
    const keyOf = (r: CustomerRef) => JSON.stringify([r.phone ?? null, r.ref?.stream ?? null, r.ref?.externalId ?? null]);
    const distinct = new Map<string, { n: number; phone: string | null; stream: string | null; external_id: string | null }>();
    for (const r of refs) {
      if (!r || (!r.phone && !r.ref)) continue;
      const k = keyOf(r);
      if (!distinct.has(k)) distinct.set(k, { n: distinct.size, phone: r.phone ?? null, stream: r.ref?.stream ?? null, external_id: r.ref?.externalId ?? null });
    }
    if (!distinct.size) return refs.map(() => null);
    const rows = await this.exec<{ n: number; id: string | null }>(
      `select k.n, coalesce(
                (select c.id from customer c where c.phone = k.phone),
                (select c.id from source_link l join customer c on c.id = l.entity_id
                  where l.system = ? and l.stream = k.stream and l.external_id = k.external_id and l.entity_type = 'customer')) as id
         from jsonb_to_recordset(?::jsonb) k(n int, phone text, stream text, external_id text)`,
      [this.source.connector, JSON.stringify([...distinct.values()])],
    );
    const idOf = new Map(rows.map((r) => [r.n, r.id === null ? null : String(r.id)]));
    return refs.map((r) => (r && (r.phone || r.ref) ? idOf.get(distinct.get(keyOf(r))!.n) ?? null : null));
  }

  private async resolveDevices(serials: (string | null)[]): Promise<(string | null)[]> {
    const list = [...new Set(serials.filter(Boolean))] as string[];
    if (!list.length) return serials.map(() => null);
    const map = new Map((await this.exec<any>(`select id, serial from device where serial = any(?::text[])`, [list])).map((r) => [r.serial, String(r.id)]));
    return serials.map((s) => (s ? map.get(s) ?? null : null));
  }

  /** Replaces reference fields (owner, customer, serial) by ids; unresolvable ones fail the item when required. */
  private async resolveReferences(entity: EntityName, batch: MergeItem[]): Promise<MergeItem[]> {
    const refField = entity === 'device' ? 'owner' : entity === 'purchase' || entity === 'complaint' ? 'customer' : null;
    if (refField) {
      const ids = await this.resolveCustomers(batch.map((i) => i.record.fields[refField] as CustomerRef));
      batch.forEach((item, n) => {
        const given = item.record.fields[refField];
        if (given && !ids[n]) {
          // A reference we cannot follow yet (the customer's own record may come in a later sync): keep the
          // record out rather than merge it without its owner; it is retried on the next run.
          this.fail(item, new RecordError('UNRESOLVED_REFERENCE', `${entity}.${refField} points at a customer Junction does not know (${JSON.stringify(given)})`, refField));
        }
        if (given !== undefined) item.record.fields[refField] = ids[n];
      });
    }
    if (entity === 'purchase' || entity === 'complaint' || entity === 'telemetry') {
      const serialOf = batch.map((i) => i.record.fields.serial ?? null);
      if (entity === 'telemetry') await this.ensureDevices(batch);
      const ids = await this.resolveDevices(serialOf);
      // Telemetry links its device to the IoT record (the first of the page per device), whether the
      // device was created just now or already known from another system: write-backs to IoT find
      // the device's id there through this link.
      const linked = new Set<string>();
      batch.forEach((item, n) => {
        if (entity === 'telemetry' && !ids[n]) this.fail(item, new RecordError('UNRESOLVED_REFERENCE', `no device ${serialOf[n]}`, 'serial'));
        if (entity === 'telemetry' && ids[n] && !linked.has(ids[n]!)) {
          linked.add(ids[n]!);
          this.links.push({ stream: this.source.stream, externalId: item.externalId, entity: 'device', id: ids[n]!, version: item.version });
        }
        if ('serial' in item.record.fields) item.record.fields.serial = ids[n];
      });
    }
    return batch.filter((i) => !this.errors.has(i.index));
  }

  /** A device reporting to IoT that no other system knows still gets a golden record (so checks can flag it). */
  private async ensureDevices(batch: MergeItem[]): Promise<void> {
    const rows = batch.map((i) => ({ serial: i.record.fields.serial, firmware: i.record.fields.firmware ?? null, lineage: { serial: this.lineage(i) } }));
    const created = await this.exec<any>(
      `insert into device (serial, firmware, lineage)
       select x.serial, x.firmware, x.lineage from jsonb_to_recordset(?::jsonb) x(serial text, firmware text, lineage jsonb)
       on conflict (serial) do nothing returning id, serial`,
      [JSON.stringify(rows)],
    );
    this.flagNearDuplicateDevices(created.map((c: any) => ({ id: String(c.id), serial: c.serial })));
    const firstBySerial = new Map<unknown, MergeItem>();
    for (const i of batch) if (!firstBySerial.has(i.record.fields.serial)) firstBySerial.set(i.record.fields.serial, i);
    for (const c of created) {
      const item = firstBySerial.get(c.serial)!;
      this.audit.push({ entity: 'device', id: String(c.id), field: CREATED_FIELD, before: null, after: { serial: c.serial }, externalId: item.externalId });
    }
  }

  private async mergeGolden(entity: EntityName, input: MergeItem[]): Promise<void> {
    const spec = GOLDEN[entity]!;
    const batch = await this.resolveReferences(entity, input);
    const keyFields = Object.keys(spec.key);
    const single = keyFields.length === 1 ? keyFields[0] : null;
    const keyOf = (fields: Record<string, any>) =>
      (single !== null ? String(fields[single] ?? '') : keyFields.map((k) => String(fields[k] ?? '')).join('\u0000'));

    // Customers without a phone are found through the link of the same source record.
    if (entity === 'customer') await this.fillCustomerKeysFromLinks(batch);
    for (const item of batch) {
      if (keyFields.some((k) => item.record.fields[k] === null || item.record.fields[k] === undefined)) {
        this.fail(item, new RecordError('MISSING_KEY', `${entity} has no ${keyFields.join(' + ')} and no earlier link to identify it`, keyFields[0]));
      }
    }
    const usable = batch.filter((i) => !this.errors.has(i.index));
    if (!usable.length) return;

    const keyCols = Object.values(spec.key);
    const allCols = [...keyCols, ...Object.values(spec.fields)];
    const keyRows = usable.map((i) => Object.fromEntries(keyFields.map((k) => [spec.key[k].column, i.record.fields[k]])));
    const existing = await this.exec<any>(
      `select t.* from ${spec.table} t join jsonb_to_recordset(?::jsonb) k(${keyCols.map((c) => `${c.column} ${c.type}`).join(', ')})
         on ${keyCols.map((c) => `t.${c.column} = k.${c.column}`).join(' and ')}`,
      [JSON.stringify(keyRows)],
    );
    const state = new Map<string, { row: Record<string, any>; isNew: boolean; dirty: boolean; items: MergeItem[] }>();
    const instantCols = allCols.filter((c) => c.type === 'timestamptz').map((c) => c.column);
    for (const row of existing) {
      // Read once in the canonical form (ISO), not once per incoming record: values the merge
      // writes are in that form too, and the update sends them back as the same instants.
      for (const c of instantCols) row[c] = normalizeDb(row[c], 'timestamptz');
      row.lineage = decodeLineage(row.lineage);
      const fields = Object.fromEntries(keyFields.map((k) => [k, row[spec.key[k].column]]));
      state.set(keyOf(fields), { row, isNew: false, dirty: false, items: [] });
    }

    const fieldCols = Object.entries(spec.fields);
    for (const item of usable) {
      // One lineage object per item, shared by the fields it sets (never mutated, only replaced).
      const itemLineage = this.lineage(item);
      const key = keyOf(item.record.fields);
      let s = state.get(key);
      if (!s) {
        s = { row: { lineage: {} }, isNew: true, dirty: true, items: [] };
        for (const k of keyFields) {
          s.row[spec.key[k].column] = item.record.fields[k];
          s.row.lineage[k] = itemLineage;
        }
        state.set(key, s);
      }
      s.items.push(item);
      const lineage = (s.row.lineage ?? {}) as LineageMap;
      for (const [field, col] of fieldCols) {
        let incoming = item.record.fields[field];
        if (incoming === undefined || incoming === null) {
          if (field === 'closedAt' && entity === 'complaint' && this.reopen(s.row, s.isNew, lineage, item, itemLineage)) s.dirty = true;
          continue;
        }
        // A numeric column holds its values at its scale ("5999" is stored, and read back, as "5999.00").
        if (col.scale !== undefined) incoming = atScale(incoming, col.scale);
        const current = col.type === 'timestamptz' ? s.row[col.column] ?? null : normalizeDb(s.row[col.column], col.type, col.scale);
        if (sameValue(current, incoming)) {
          // The same value from another source that would win takes the lineage over (no audit: the
          // value did not change), so a lower-ranked source cannot later overwrite it. From the same
          // system nothing changes: re-merges stay writes-free.
          const owner = lineage[field];
          if (current !== null && (!owner || owner.system !== this.source.system)
              && incomingWins(entity, field, { value: current, lineage: owner }, { system: this.source.system, at: item.at })) {
            lineage[field] = itemLineage;
            s.dirty = true;
          }
          continue;
        }
        if (!incomingWins(entity, field, { value: current, lineage: lineage[field] }, { system: this.source.system, at: item.at })) continue;
        if (!s.isNew) this.audit.push({ entity, id: String(s.row.id ?? s.row.device_id), field, before: current ?? null, after: incoming, externalId: item.externalId });
        s.row[col.column] = incoming;
        lineage[field] = itemLineage;
        s.dirty = true;
      }
      s.row.lineage = lineage;
    }

    // A new row needs a value for every NOT NULL column without a default; one no record of the
    // page gave fails those records alone (an existing row is still updated by such records).
    const requiredCols = fieldCols.filter(([, c]) => c.required);
    if (requiredCols.length) {
      for (const [key, s] of state) {
        if (!s.isNew) continue;
        const missing = requiredCols.find(([, c]) => s.row[c.column] === null || s.row[c.column] === undefined);
        if (!missing) continue;
        const [field] = missing;
        const keyText = keyFields.map((k) => String(s.row[spec.key[k].column])).join(' / ');
        for (const item of s.items) {
          this.fail(item, new RecordError('MISSING_FIELD', `${entity}.${field} is required to create ${entity} ${keyText} (no record gave it)`, field));
        }
        state.delete(key);
      }
    }

    const idCol = entity === 'telemetry' ? 'device_id' : 'id';
    const typed = allCols.map((c) => `${c.column} ${c.type}`).join(', ');
    const newStates = [...state.values()].filter((s) => s.isNew);
    if (newStates.length) {
      const cols = allCols.map((c) => c.column);
      const createdFields = Object.entries({ ...spec.key, ...spec.fields }).map(([field, col]) => [field, col.column] as const);
      let rows = '[';
      for (let n = 0; n < newStates.length; n++) rows += (n ? ',' : '') + this.rowJson(newStates[n].row, cols);
      rows += ']';
      const inserted = await this.exec<any>(
        `insert into ${spec.table} (${cols.join(', ')}, lineage)
         select ${allCols.map((c) => (c.default ? `coalesce(x.${c.column}, ${c.default})` : `x.${c.column}`)).join(', ')}, lineage
           from jsonb_to_recordset(?::jsonb) x(${typed}, lineage jsonb)
         returning ${idCol} as id, ${keyCols.map((c) => c.column).join(', ')}`,
        [rows],
      );
      const rowKey = (r: Record<string, any>) =>
        (keyCols.length === 1 ? String(r[keyCols[0].column] ?? '') : keyCols.map((c) => String(r[c.column] ?? '')).join('\u0000'));
      const idByKey = new Map<string, string>();
      for (const r of inserted) idByKey.set(rowKey(r), String(r.id));
      if (entity === 'device') this.flagNearDuplicateDevices(inserted.map((r: any) => ({ id: String(r.id), serial: r.serial })));
      for (const s of newStates) {
        const id = idByKey.get(rowKey(s.row))!;
        s.row[idCol] = id;
        // A creation is one audit row holding every value set (field CREATED_FIELD), not one row per field:
        // the same facts, a sixth of the rows on bulk loads.
        const values: Record<string, unknown> = {};
        for (const [field, column] of createdFields) {
          const v = s.row[column];
          if (v !== null && v !== undefined) values[field] = v;
        }
        this.audit.push({ entity, id, field: CREATED_FIELD, before: null, after: values, externalId: s.items[0].externalId });
      }
    }
    const changed = [...state.values()].filter((s) => !s.isNew && s.dirty);
    if (changed.length) {
      const cols = Object.values(spec.fields).map((c) => c.column);
      const withId = [idCol, ...cols];
      let rows = '[';
      for (let n = 0; n < changed.length; n++) rows += (n ? ',' : '') + this.rowJson(changed[n].row, withId);
      rows += ']';
      const bump = entity === 'customer' || entity === 'device' ? ', version = t.version + 1' : '';
      this.pipe.send(
        `update ${spec.table} t set ${cols.map((c) => `${c} = x.${c}`).join(', ')}, lineage = x.lineage, updated_at = now()${bump}
           from jsonb_to_recordset(?::jsonb) x(${idCol} bigint, ${Object.values(spec.fields).map((c) => `${c.column} ${c.type}`).join(', ')}, lineage jsonb)
          where t.${idCol} = x.${idCol}`,
        [rows],
      );
    }
    for (const s of state.values()) {
      for (const item of s.items) {
        this.links.push({ stream: this.source.stream, externalId: item.externalId, entity, id: String(s.row[idCol]), version: item.version });
      }
    }
  }

  /**
   * A complaint a source says is not closed (status OPEN, no closedAt: null says nothing elsewhere)
   * loses its old closed_at when that source may write closedAt (survivorship): audited, lineage
   * to the source. Otherwise a reopened complaint kept the date it was closed.
   */
  private reopen(row: Record<string, any>, isNew: boolean, lineage: LineageMap, item: MergeItem, itemLineage: FieldLineage): boolean {
    const status = item.record.fields.status;
    const current = row.closed_at ?? null;
    if (!status || status === 'CLOSED' || current === null) return false;
    if (!incomingWins('complaint', 'closedAt', { value: current, lineage: lineage.closedAt }, { system: this.source.system, at: item.at })) return false;
    if (!isNew) this.audit.push({ entity: 'complaint', id: String(row.id), field: 'closedAt', before: current, after: null, externalId: item.externalId });
    row.closed_at = null;
    lineage.closedAt = itemLineage;
    return true;
  }

  /**
   * Never merge on a fuzzy match: a new serial that is an existing one with one character more or
   * less (the classic typo) becomes a data issue for a person, with both records as evidence.
   * Substitutions are not flagged: sequential serials (…001, …002) differ by one substitution all
   * the time. Exact lookups through one-character deletions (device_serial_variant, kept by a
   * trigger), so the check stays linear; one statement per batch, one issue per pair.
   * The plan must not depend on statistics (a bulk load runs before autovacuum analyzes), and
   * must touch only the batch's rows: each deletion of a new serial is a unique-key probe of
   * device (a lateral subquery with `limit 1` is never flattened into a join; as a join,
   * PostgreSQL hashed the whole device table once per batch, quadratic over a load), and the
   * variant lookup is an `= any(array(...))` per serial, which only an index scan can answer (as
   * a join, the default estimate of 0.5% of the variants per serial made PostgreSQL read every
   * variant per batch).
   */
  private flagNearDuplicateDevices(created: Array<{ id: string; serial: string }>): void {
    if (!created.length) return;
    const source = `${this.source.connector}/${this.source.stream}`;
    this.pipe.send(
      NEAR_DUPLICATE_DEVICES_SQL,
      [JSON.stringify(created), source, source],
    );
  }

  /** A customer record without a phone (e.g. a CRM account never given one) is matched by its earlier link. */
  private async fillCustomerKeysFromLinks(batch: MergeItem[]): Promise<void> {
    const missing = batch.filter((i) => !i.record.fields.phone);
    if (!missing.length) return;
    // One unique-key lookup per record: with `external_id = any(?)` PostgreSQL may filter every
    // link of the stream by the whole array instead (seen at 100k records: quadratic per page).
    const rows = await this.exec<any>(
      `select k.external_id, c.phone from jsonb_array_elements_text(?::jsonb) k(external_id)
         cross join lateral (select entity_id from source_link
                              where system = ? and stream = ? and external_id = k.external_id and entity_type = 'customer' limit 1) l
         join customer c on c.id = l.entity_id`,
      [JSON.stringify(missing.map((i) => i.externalId)), this.source.connector, this.source.stream],
    );
    const phoneOf = new Map(rows.map((r: any) => [r.external_id, r.phone]));
    for (const item of missing) item.record.fields.phone = phoneOf.get(item.externalId) ?? null;
  }

  /**
   * Spare parts and their model compatibility (ERP only: plain upsert, compatibility replaced),
   * audited: a creation (its code, name and compatibility), a rename (`name`), a changed
   * compatibility list (`compatibility`, before and after sorted by model and firmware prefix).
   */
  private async mergeParts(batch: MergeItem[]): Promise<void> {
    const last = new Map(batch.map((i) => [i.record.fields.code as string, i]));
    const rows = [...last.values()].map((i) => ({ code: i.record.fields.code, name: i.record.fields.name }));
    // Every CTE sees the snapshot before the upsert: `prev` holds the names it replaces.
    const saved = await this.exec<{ id: string; code: string; name: string; before: string | null; created: boolean }>(
      `with x as (select * from jsonb_to_recordset(?::jsonb) x(code text, name text)),
            prev as materialized (select p.code, p.name from x join spare_part p on p.code = x.code),
            up as (insert into spare_part (code, name) select code, name from x
                   on conflict (code) do update set name = excluded.name, updated_at = now() where spare_part.name is distinct from excluded.name
                   returning id, code, name)
       select up.id, up.code, up.name, prev.name as before, prev.code is null as created
         from up left join prev on prev.code = up.code`,
      [JSON.stringify(rows)],
    );
    const ids = new Map((await this.exec<any>(`select id, code from spare_part where code = any(?::text[])`, [[...last.keys()]])).map((r) => [r.code, String(r.id)]));
    const createdAudit = new Map<string, Record<string, unknown>>();
    for (const r of saved) {
      const item = last.get(r.code)!;
      if (r.created) {
        const after: Record<string, unknown> = { code: r.code, name: r.name };
        createdAudit.set(String(r.id), after);
        this.audit.push({ entity: 'spare_part', id: String(r.id), field: CREATED_FIELD, before: null, after, externalId: item.externalId });
      } else {
        this.audit.push({ entity: 'spare_part', id: String(r.id), field: 'name', before: r.before, after: r.name, externalId: item.externalId });
      }
    }
    const withCompat = [...last.values()].filter((i) => Array.isArray(i.record.fields.compatibility));
    if (withCompat.length) {
      // One statement: removes the pairs no longer listed, adds the new ones (pairs kept are not
      // touched), and answers the parts whose list changed with their list before and after.
      const wanted = withCompat.map((i) => ({
        part_id: ids.get(i.record.fields.code),
        compat: (i.record.fields.compatibility as Array<{ model: string; firmwarePrefix: string }>).map((c) => ({ model: c.model, firmware_prefix: c.firmwarePrefix })),
      }));
      const changes = await this.exec<{ part_id: string; before: unknown; after: unknown }>(
        `with x as (select * from jsonb_to_recordset(?::jsonb) x(part_id bigint, compat jsonb)),
              want as (select distinct x.part_id, c.model, c.firmware_prefix
                         from x cross join jsonb_to_recordset(x.compat) c(model text, firmware_prefix text)),
              prev as materialized (select p.part_id, p.model, p.firmware_prefix from part_compatibility p where p.part_id in (select part_id from x)),
              del as (delete from part_compatibility p where p.part_id in (select part_id from x)
                        and not exists (select 1 from want w where w.part_id = p.part_id and w.model = p.model and w.firmware_prefix = p.firmware_prefix)
                      returning p.part_id),
              ins as (insert into part_compatibility (part_id, model, firmware_prefix) select part_id, model, firmware_prefix from want
                      on conflict do nothing returning part_id),
              changed as (select part_id from del union select part_id from ins),
              -- Lists grouped once and joined (hash): a subquery per part over the CTEs was
              -- quadratic in the page (2000 × 2000 rows scanned, 3 s more per 32k parts).
              b as (select part_id, jsonb_agg(jsonb_build_object('model', model, 'firmwarePrefix', firmware_prefix) order by model, firmware_prefix) as list
                      from prev where part_id in (select part_id from changed) group by part_id),
              a as (select part_id, jsonb_agg(jsonb_build_object('model', model, 'firmwarePrefix', firmware_prefix) order by model, firmware_prefix) as list
                      from want where part_id in (select part_id from changed) group by part_id)
         select c.part_id, coalesce(b.list, '[]'::jsonb) as before, coalesce(a.list, '[]'::jsonb) as after
           from changed c left join b on b.part_id = c.part_id left join a on a.part_id = c.part_id`,
        [JSON.stringify(wanted)],
      );
      const itemById = new Map(withCompat.map((i) => [ids.get(i.record.fields.code)!, i]));
      for (const c of changes) {
        const id = String(c.part_id);
        const created = createdAudit.get(id);
        if (created) created.compatibility = c.after; // a creation is one audit row holding every value set
        else this.audit.push({ entity: 'spare_part', id, field: 'compatibility', before: c.before, after: c.after, externalId: itemById.get(id)!.externalId });
      }
    }
    for (const i of batch) this.links.push({ stream: this.source.stream, externalId: i.externalId, entity: 'spare_part', id: ids.get(i.record.fields.code)!, version: i.version });
  }

  private async mergeStock(batch: MergeItem[]): Promise<void> {
    const codes = [...new Set(batch.map((i) => i.record.fields.partCode as string))];
    const ids = new Map((await this.exec<any>(`select id, code from spare_part where code = any(?::text[])`, [codes])).map((r) => [r.code, String(r.id)]));
    const rows = new Map<string, { part_id: string; warehouse: string; quantity: number }>();
    for (const i of batch) {
      const partId = ids.get(i.record.fields.partCode);
      if (!partId) {
        this.fail(i, new RecordError('UNRESOLVED_REFERENCE', `stock for unknown part ${i.record.fields.partCode}`, 'partCode'));
        continue;
      }
      rows.set(`${partId}\u0000${i.record.fields.warehouse}`, { part_id: partId, warehouse: i.record.fields.warehouse, quantity: i.record.fields.quantity });
    }
    if (!rows.size) return;
    // Every CTE sees the snapshot before the upsert, so `prev` holds the quantities it replaces.
    // `prev` is materialized (one probe per row, then one hash join): inlined, it was re-joined
    // to all of x for every upserted row (2000 × 2000 per page of changed stock, 1.6 s).
    const changed = await this.exec<{ part_id: string; warehouse: string; quantity: number; before: number | null }>(
      `with x as (select * from jsonb_to_recordset(?::jsonb) x(part_id bigint, warehouse text, quantity int)),
            prev as materialized (select s.part_id, s.warehouse, s.quantity from x join stock s on s.part_id = x.part_id and s.warehouse = x.warehouse),
            up as (insert into stock (part_id, warehouse, quantity) select part_id, warehouse, quantity from x
                   on conflict (part_id, warehouse) do update set quantity = excluded.quantity, updated_at = now()
                   where stock.quantity is distinct from excluded.quantity
                   returning part_id, warehouse, quantity)
       select up.part_id, up.warehouse, up.quantity, prev.quantity as before
         from up left join prev on prev.part_id = up.part_id and prev.warehouse = up.warehouse`,
      [JSON.stringify([...rows.values()])],
    );
    // Audited on the part (stock has no id of its own): field `stock.<warehouse>`. Ticket
    // enrichment reads these to refresh the parts it suggested.
    const itemOf = new Map(batch.map((i) => [`${ids.get(i.record.fields.partCode)}\u0000${i.record.fields.warehouse}`, i]));
    for (const c of changed) {
      const item = itemOf.get(`${c.part_id}\u0000${c.warehouse}`)!;
      this.audit.push({ entity: 'spare_part', id: String(c.part_id), field: `stock.${c.warehouse}`, before: c.before, after: c.quantity, externalId: item.externalId });
    }
  }

  /** Sent, not awaited: merge() settles them (the audit's JSON is built while the links insert runs). */
  private writeLinksAndAudit(): void {
    if (this.links.length) {
      const latest = new Map<string, (typeof this.links)[number]>();
      for (const l of this.links) latest.set(`${l.stream}\u0000${l.externalId}\u0000${l.entity}`, l);
      this.pipe.send(
        `insert into source_link (system, stream, external_id, entity_type, entity_id, version, seen_at)
         select ?, stream, "externalId", entity, id, version, now()
           from jsonb_to_recordset(?::jsonb) x(stream text, "externalId" text, entity text, id bigint, version text)
         on conflict (system, stream, external_id, entity_type) do update
           set entity_id = excluded.entity_id, version = excluded.version, seen_at = now()`,
        [this.source.connector, JSON.stringify([...latest.values()])],
      );
    }
    if (this.audit.length) {
      const origin = `sync:${this.source.connector}/${this.source.stream}`;
      this.pipe.send(
        `insert into audit_log (entity_type, entity_id, field, before, after, actor, origin)
         select entity, id, field, before, after, ?, ? || ':' || "externalId"
           from jsonb_to_recordset(?::jsonb) x(entity text, id bigint, field text, before jsonb, after jsonb, "externalId" text)`,
        [`sync:${this.source.connector}`, origin, JSON.stringify(this.audit)],
      );
    }
  }
}

/** `"key":` for column and field names (a few dozen), written once. */
const encodedKeys = new Map<string, string>();
function encodedKey(key: string): string {
  let e = encodedKeys.get(key);
  if (e === undefined) {
    e = `${JSON.stringify(key)}:`;
    if (encodedKeys.size < 1000) encodedKeys.set(key, e);
  }
  return e;
}

/**
 * A decimal (text or number) as text with exactly `scale` digits after the point, rounded half away
 * from zero as PostgreSQL rounds into numeric(p, scale); anything else is returned unchanged.
 */
export function atScale(value: unknown, scale: number): unknown {
  const text = typeof value === 'number' && Number.isFinite(value) ? String(value) : value;
  if (typeof text !== 'string') return value;
  const m = /^\s*([+-]?)(\d*)(?:\.(\d*))?\s*$/.exec(text);
  if (!m || (!m[2] && !m[3])) return value;
  const frac = m[3] ?? '';
  let units = BigInt((m[2] || '0') + frac.slice(0, scale).padEnd(scale, '0'));
  if (frac.length > scale && frac.charCodeAt(scale) >= 53 /* '5' */) units += 1n;
  if (units === 0n) return scale ? `0.${'0'.repeat(scale)}` : '0';
  const digits = units.toString().padStart(scale + 1, '0');
  const whole = scale ? `${digits.slice(0, -scale)}.${digits.slice(-scale)}` : digits;
  return m[1] === '-' ? `-${whole}` : whole;
}

/** Database values in the form canonical records use (dates as text, numbers as text, numerics at their scale). */
function normalizeDb(value: unknown, type: SqlType, scale?: number): unknown {
  if (value === null || value === undefined) return null;
  switch (type) {
    case 'date':
      return typeof value === 'string' ? value.slice(0, 10) : (value as Date).toISOString().slice(0, 10);
    case 'timestamptz':
      return new Date(typeof value === 'string' ? value.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00') : (value as Date)).toISOString();
    case 'bigint':
      return String(value);
    case 'numeric':
      return scale === undefined ? String(value) : atScale(String(value), scale);
    default:
      return value;
  }
}
