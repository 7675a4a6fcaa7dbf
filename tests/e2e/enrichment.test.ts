import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import type { Connector } from '../../src/connectors';
import { sqlOne, sqlRows } from '../../src/db/sql';
import { enrichOpenTickets } from '../../src/enrichment/backfill';
import { TicketEnricher } from '../../src/enrichment/enricher';
import { MappingEngine } from '../../src/mapping/engine';
import { SyncPipeline } from '../../src/sync/pipeline';
import { insertCustomer, insertDevice } from '../support/fixtures';
import { QualityRunner } from '../../src/quality/runner';
import { loadRules } from '../../src/quality/rules';
import { startTestHub, TestHub } from '../support/server';

const CREATE = `mutation($input: CreateTicketInput!) { createTicket(input: $input) {
  number model reportedSerial customer { phone } device { serial }
  enrichment { model deviceAgeMonths customerTier openComplaintCount openComplaints { caseNumber subject }
    warranty { status end daysLeft } iotHints { code message metric threshold }
    suggestedParts { code name totalStock stock { warehouse quantity } }
    lineage { value field record system stream externalId at } enrichedAt }
  history { type changes note } } }`;
const TICKET = `query($n: String!) { ticket(number: $n) { version derived enrichment { warranty { status end daysLeft } customerTier lineage { value field system stream externalId } }
  history { type changes actor origin } } }`;

const erp = (externalId: string) => ({ system: 'erp', connector: 'erp', stream: 'serials', externalId, at: '2025-06-02T00:00:00.000Z' });
const SERIAL = 'GA72H2025000123';
const TICKET_PARTS = `query($n: String!) { ticket(number: $n) { enrichment { suggestedParts { code stock { warehouse quantity } } } } }`;

describe('ticket enrichment and wrong-input checks', () => {
  let hub: TestHub;
  const count = async (table: string) => (await sqlRows<any>(hub.server.orm, `select count(*)::int n from ${table}`))[0].n as number;
  const sql = (q: string, p: unknown[] = []) => sqlRows<any>(hub.server.orm, q, p);

  beforeAll(async () => {
    hub = await startTestHub();
    const orm = hub.server.orm;
    const c = await insertCustomer(orm, { phone: '+8613800138000', name: '张伟', tier: 'VIP' });
    await sql(`update customer set lineage = ?::jsonb where id = ?`, [JSON.stringify({ tier: { system: 'crm', stream: 'accounts', externalId: '001A', at: '2026-03-01T00:00:00.000Z' } }), c]);
    const d = await insertDevice(orm, { serial: SERIAL, ownerId: c, model: 'KFR-72LW/N8HR3', firmware: 'V2.3.1', purchaseDate: '2025-06-01', warrantyEnd: '2099-06-01' });
    await sql(`update device set lineage = ?::jsonb where id = ?`, [JSON.stringify({ purchaseDate: erp(SERIAL), warrantyEnd: erp(SERIAL) }), d]);
    await insertDevice(orm, { serial: 'GA72H2019000777', ownerId: c, model: 'KFR-72LW/N8HR3', firmware: 'V3.0.2', purchaseDate: '2019-01-15', warrantyEnd: '2025-01-15' });
    // Other families with serials one character away: suggestions with a model stay within its family.
    await insertDevice(orm, { serial: 'GA72H2025000128', ownerId: c, model: 'DSL-K20 Pro' });
    await sql(`insert into telemetry (device_id, online, run_count, lineage) values (?, true, 45000, ?::jsonb)`,
      [d, JSON.stringify({ runCount: { system: 'iot', stream: 'devices', externalId: 'tb-1', at: '2026-11-22T23:00:00.000Z' } })]);
    await sql(`insert into spare_part (code, name) values ('GP-YSJ-72A', '压缩机'), ('GP-ZB-72V2', '主板'), ('GP-ZB-72V3', '主板')`);
    await sql(`insert into part_compatibility (part_id, model, firmware_prefix)
      select id, 'KFR-72LW/N8HR3', case code when 'GP-ZB-72V2' then 'V2.' when 'GP-ZB-72V3' then 'V3.' else '' end from spare_part`);
    await sql(`insert into stock (part_id, warehouse, quantity) select id, w, q from spare_part,
      (values ('WH-SH', 5), ('WH-GZ', 0)) s(w, q) where code <> 'GP-ZB-72V3'`);
    await sql(`insert into complaint (case_number, customer_id, subject, status, opened_at) values ('00001026', ?, '空调漏水投诉', 'OPEN', '2026-11-01T09:00:00Z'),
      ('00001001', ?, '已处理', 'CLOSED', '2026-01-01T09:00:00Z')`, [c, c]);
  });
  afterAll(() => hub.stop());

  it('creates from a serial only, with every derived value and its lineage', async () => {
    const r = await hub.gql(CREATE, { input: { serial: SERIAL.toLowerCase(), fault: '噪音大' } });
    expect(r.errors).toBeUndefined();
    const t = r.data.createTicket;
    expect(t).toMatchObject({ model: 'KFR-72LW/N8HR3', reportedSerial: null, customer: { phone: '+8613800138000' }, device: { serial: SERIAL } });
    const e = t.enrichment;
    expect(e).toMatchObject({
      model: 'KFR-72LW/N8HR3', customerTier: 'VIP', openComplaintCount: 1, openComplaints: [{ caseNumber: '00001026', subject: '空调漏水投诉' }],
      warranty: { status: 'IN_WARRANTY', end: '2099-06-01' },
      iotHints: [{ code: 'INSPECT_COMPRESSOR', metric: 'runCount', threshold: 40000 }],
    });
    expect(e.deviceAgeMonths).toBeGreaterThanOrEqual(17);
    expect(e.warranty.daysLeft).toBeGreaterThan(20000);
    // Firmware V2.3.1: the V2 board and the any-firmware compressor, not the V3 board; most stock first.
    expect(e.suggestedParts).toEqual([
      { code: 'GP-YSJ-72A', name: '压缩机', totalStock: 5, stock: [{ warehouse: 'WH-GZ', quantity: 0 }, { warehouse: 'WH-SH', quantity: 5 }] },
      { code: 'GP-ZB-72V2', name: '主板', totalStock: 5, stock: [{ warehouse: 'WH-GZ', quantity: 0 }, { warehouse: 'WH-SH', quantity: 5 }] },
    ]);
    const lineage = Object.fromEntries(e.lineage.map((l: any) => [`${l.value}|${l.record}`, l]));
    expect(lineage[`warranty|device:${SERIAL}`]).toMatchObject({ field: 'device.warrantyEnd', system: 'erp', stream: 'serials', externalId: SERIAL });
    expect(lineage[`deviceAgeMonths|device:${SERIAL}`]).toMatchObject({ field: 'device.purchaseDate', system: 'erp' });
    expect(lineage['customerTier|customer:+8613800138000']).toMatchObject({ field: 'customer.tier', system: 'crm', externalId: '001A' });
    expect(lineage['openComplaints|complaint:00001026']).toMatchObject({ field: 'complaint.status' });
    expect(lineage[`iotHints|telemetry:${SERIAL}`]).toMatchObject({ field: 'telemetry.runCount', system: 'iot', externalId: 'tb-1' });
    expect(e.enrichedAt).not.toBeNull();
    expect(t.history.map((h: any) => h.type)).toEqual(['CREATED']);
  });

  it('creates from a phone only: the customer\'s tier and complaints, no device values', async () => {
    const r = await hub.gql(CREATE, { input: { phone: '138-0013-8000', fault: '咨询保修' } });
    expect(r.errors).toBeUndefined();
    expect(r.data.createTicket).toMatchObject({ model: null, device: null, enrichment: {
      model: null, deviceAgeMonths: null, customerTier: 'VIP', openComplaintCount: 1, warranty: { status: 'UNKNOWN', end: null, daysLeft: null },
      iotHints: [], suggestedParts: [],
    } });
  });

  it('says OUT of warranty with the days since it ended', async () => {
    const r = await hub.gql(CREATE, { input: { serial: 'GA72H2019000777', fault: '不制冷' } });
    expect(r.data.createTicket.enrichment.warranty).toMatchObject({ status: 'OUT_OF_WARRANTY', end: '2025-01-15' });
    expect(r.data.createTicket.enrichment.warranty.daysLeft).toBeLessThan(0);
    expect(r.data.createTicket.enrichment.suggestedParts.map((p: any) => p.code)).toEqual(['GP-YSJ-72A', 'GP-ZB-72V3']);
  });

  it.each([
    ['a character more', `${SERIAL}3`, 'EXTRA_CHARACTER'],
    ['a character missing', SERIAL.slice(0, -1), 'MISSING_CHARACTER'],
    ['two characters swapped', 'GA72H2025001023', 'SWAPPED_CHARACTERS'],
  ])('refuses a serial with %s: UNKNOWN_SERIAL with ranked suggestions, nothing written', async (_what, typed, kind) => {
    const before = [await count('ticket'), await count('audit_log'), await count('ticket_event')];
    const r = await hub.gql(CREATE, { input: { serial: typed, model: 'KFR-72LW/N8HR3', fault: '不制冷' } });
    expect(r.data).toBeNull();
    expect(r.errors![0].extensions).toMatchObject({ code: 'UNKNOWN_SERIAL', field: 'input.serial', recordId: typed });
    expect(r.errors![0].extensions!.suggestions[0]).toMatchObject({ serial: SERIAL, model: 'KFR-72LW/N8HR3', distance: 1, kind });
    expect(r.errors![0].message).toContain(`closest known serials: ${SERIAL}`);
    expect([await count('ticket'), await count('audit_log'), await count('ticket_event')]).toEqual(before);
  });

  it('ranks within the model family: without a model both near serials, with one only its family', async () => {
    const typed = 'GA72H2025000125'; // one character from ...123 (air conditioner) and ...128 (door lock)
    const any = await hub.gql(CREATE, { input: { serial: typed, fault: 'x' } });
    expect(any.errors![0].extensions!.suggestions.map((s: any) => s.serial)).toEqual([SERIAL, 'GA72H2025000128']);
    const lock = await hub.gql(CREATE, { input: { serial: typed, model: 'DSL-K20 Pro', fault: 'x' } });
    expect(lock.errors![0].extensions!.suggestions.map((s: any) => s.serial)).toEqual(['GA72H2025000128']);
    const q = await hub.gql(`query { serialSuggestions(serial: "ga72h2025000125", model: "KFR-72LW/N8HR33") { serial model distance kind } }`);
    expect(q.data.serialSuggestions).toEqual([{ serial: SERIAL, model: 'KFR-72LW/N8HR3', distance: 1, kind: 'WRONG_CHARACTER' }]);
    const known = await hub.gql(`query { serialSuggestions(serial: "${SERIAL}") { serial } }`);
    expect(known.data.serialSuggestions).toEqual([]); // ...128 is one character away, but the serial is known
  });

  it('refuses the real case, model KFR-72LW/N8HR33, with UNKNOWN_MODEL and the model meant', async () => {
    const before = await count('ticket');
    const r = await hub.gql(CREATE, { input: { phone: '13800138000', model: 'KFR-72LW/N8HR33', fault: '不制冷' } });
    expect(r.errors![0].extensions).toMatchObject({ code: 'UNKNOWN_MODEL', field: 'input.model', recordId: 'KFR-72LW/N8HR33' });
    expect(r.errors![0].extensions!.suggestions[0]).toEqual({ model: 'KFR-72LW/N8HR3', distance: 1, kind: 'EXTRA_CHARACTER' });
    expect(await count('ticket')).toBe(before);
    const q = await hub.gql(`query { typo: modelSuggestions(model: "kfr-72lw/n8hr33") { model }
      family: modelSuggestions(model: "KFR72LW/N8HR3") { model kind } known: modelSuggestions(model: "KFR-72LW/N8HR3") { model } }`);
    expect(q.data).toEqual({ typo: [{ model: 'KFR-72LW/N8HR3' }], family: [{ model: 'KFR-72LW/N8HR3', kind: 'MISSING_CHARACTER' }], known: [] });
    // Confirmed: the caller passes the model suggested; parts follow it without a device.
    const ok = await hub.gql(CREATE, { input: { phone: '13800138000', model: 'kfr-72lw/n8hr3', fault: '不制冷' } });
    expect(ok.data.createTicket).toMatchObject({ model: 'KFR-72LW/N8HR3', device: null });
    expect(ok.data.createTicket.enrichment.suggestedParts.map((p: any) => p.code)).toEqual(['GP-YSJ-72A']);
  });

  it('refuses a model that contradicts the device', async () => {
    const r = await hub.gql(CREATE, { input: { serial: SERIAL, model: 'DSL-K20 Pro', fault: 'x' } });
    expect(r.errors![0].extensions).toMatchObject({ code: 'CONFLICT', field: 'input.model', deviceModel: 'KFR-72LW/N8HR3' });
  });

  it('creates on the confirmed suggestion', async () => {
    const typo = await hub.gql(CREATE, { input: { serial: `${SERIAL}3`, fault: '不制冷' } });
    const chosen = typo.errors![0].extensions!.suggestions[0].serial;
    const r = await hub.gql(CREATE, { input: { serial: chosen, fault: '不制冷' } });
    expect(r.data.createTicket).toMatchObject({ device: { serial: SERIAL }, reportedSerial: null });
  });

  it('creates on insistence with a reason, keeps the serial as typed and audits the reason with the suggestions', async () => {
    const noCustomer = await hub.gql(CREATE, { input: { serial: `${SERIAL}3`, fault: '不制冷', insistReason: '铭牌如此' } });
    expect(noCustomer.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.phone' });
    const r = await hub.gql(CREATE, { input: { phone: '13800138000', serial: `${SERIAL}3`, fault: '不制冷', insistReason: ' 铭牌如此，客户坚持 ' } });
    expect(r.errors).toBeUndefined();
    const t = r.data.createTicket;
    expect(t).toMatchObject({ device: null, reportedSerial: `${SERIAL}3`, enrichment: { warranty: { status: 'UNKNOWN' }, customerTier: 'VIP' } });
    const insisted = { reason: '铭牌如此，客户坚持', serial: `${SERIAL}3`, suggestions: [SERIAL] };
    expect(t.history[0].changes.insistReason).toEqual({ before: null, after: insisted });
    expect(t.history[0].changes.reportedSerial).toEqual({ before: null, after: `${SERIAL}3` });
    const audit = await sql(`select a.after, a.actor, a.origin from audit_log a join ticket t on t.id = a.entity_id
      where a.entity_type = 'ticket' and a.field = 'insistReason' and t.number = ?`, [t.number]);
    expect(audit).toEqual([{ after: insisted, actor: 'apikey:test-portal', origin: 'graphql' }]);
  });

  it('re-enriches open tickets when a sync changes the warranty, with an ENRICHED event and audit; closed ones stay', async () => {
    const open = (await hub.gql(CREATE, { input: { serial: SERIAL, fault: '漏水' } })).data.createTicket.number;
    const closed = (await hub.gql(CREATE, { input: { serial: SERIAL, fault: '旧单' } })).data.createTicket.number;
    await sql(`update ticket set status = 'CLOSED' where number = ?`, [closed]);
    const version = (await hub.gql(TICKET, { n: open })).data.ticket.version;

    // A sync page from an ERP connector moves the warranty end into the past.
    const root = mkdtempSync(join(tmpdir(), 'junction-enrich-'));
    try {
      cpSync(join(__dirname, '..', '..', 'mappings', 'ticket'), join(root, 'ticket'), { recursive: true });
      mkdirSync(join(root, 'testerp'));
      writeFileSync(join(root, 'testerp', 'serials.jsonata'), '{ "entity": "device", "serial": serial, "warrantyEnd": warrantyEnd }');
      const connector: Connector = {
        name: 'erp',
        streams: { serials: { name: 'serials', entity: 'device', async *read() {
          yield { records: [{ externalId: 'S1', version: '2', payload: { serial: SERIAL, warrantyEnd: '2026-01-31' } }], cursor: 'c1', hasMore: false };
        } } },
        healthCheck: async () => ({ ok: true }),
      };
      const pipeline = new SyncPipeline(hub.server.orm, new MappingEngine({ root }), new Map([['erp', { name: 'erp', type: 'testerp', system: 'erp', connector }]]));
      const run = await pipeline.runStream('erp', 'serials', { trigger: 'cli' });
      expect(run.status).toBe('SUCCEEDED');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }

    const t = (await hub.gql(TICKET, { n: open })).data.ticket;
    expect(t.enrichment.warranty).toMatchObject({ status: 'OUT_OF_WARRANTY', end: '2026-01-31' });
    expect(t.enrichment.lineage.find((l: any) => l.value === 'warranty')).toMatchObject({ system: 'erp', stream: 'serials', externalId: 'S1' });
    expect(t.version).toBe(version); // not a user edit: expectedVersion stays valid
    const enriched = t.history.filter((h: any) => h.type === 'ENRICHED');
    expect(enriched).toHaveLength(1);
    expect(enriched[0]).toMatchObject({ actor: 'sync:erp', origin: 'sync:erp/serials' });
    expect(enriched[0].changes.warranty.before).toMatchObject({ status: 'IN_WARRANTY', end: '2099-06-01' });
    expect(enriched[0].changes.warranty.after).toMatchObject({ status: 'OUT_OF_WARRANTY', end: '2026-01-31' });
    const audit = await sqlOne<any>(hub.server.orm, `select a.before, a.after from audit_log a join ticket t on t.id = a.entity_id
      where a.entity_type = 'ticket' and a.field = 'derived.warranty' and t.number = ?`, [open]);
    expect(audit!.after).toMatchObject({ status: 'OUT_OF_WARRANTY' });
    // What the ticket was told at creation is kept, so the data check can flag the difference.
    expect(t.derived.told).toEqual({ warrantyEnd: '2099-06-01' });
    const runner = new QualityRunner(hub.server.orm, loadRules());
    await runner.run({ trigger: 'test', only: ['warranty-end-differs'] });
    const issue = await sqlOne<any>(hub.server.orm, `select evidence from data_issue where fingerprint = ?`, [`WARRANTY_MISMATCH:ticket:${open}`]);
    expect(issue!.evidence).toMatchObject({ ticket: { toldWarrantyEnd: '2099-06-01' }, erp: { warrantyEnd: '2026-01-31' } });

    const old = (await hub.gql(TICKET, { n: closed })).data.ticket;
    expect(old.enrichment.warranty.status).toBe('IN_WARRANTY');
    expect(old.history.map((h: any) => h.type)).toEqual(['CREATED']);
  });

  it('re-enriches open tickets when a stock sync changes a part that fits their model; the change is audited on the part', async () => {
    const open = (await hub.gql(CREATE, { input: { serial: SERIAL, fault: '不制冷' } })).data.createTicket.number;
    const stockOf = async () => ((await hub.gql(TICKET_PARTS, { n: open })).data.ticket.enrichment.suggestedParts as any[])
      .find((p) => p.code === 'GP-YSJ-72A').stock.find((w: any) => w.warehouse === 'WH-GZ').quantity;
    expect(await stockOf()).toBe(0);

    const root = mkdtempSync(join(tmpdir(), 'junction-enrich-stock-'));
    try {
      cpSync(join(__dirname, '..', '..', 'mappings', 'ticket'), join(root, 'ticket'), { recursive: true });
      mkdirSync(join(root, 'testerp'));
      writeFileSync(join(root, 'testerp', 'inventory.jsonata'), '{ "entity": "stock", "partCode": code, "warehouse": warehouse, "quantity": quantity }');
      const connector: Connector = {
        name: 'erp',
        streams: { inventory: { name: 'inventory', entity: 'stock', async *read() {
          yield { records: [{ externalId: 'INV-1', version: '1', payload: { code: 'GP-YSJ-72A', warehouse: 'WH-GZ', quantity: 7 } }], cursor: 'c1', hasMore: false };
        } } },
        healthCheck: async () => ({ ok: true }),
      };
      const pipeline = new SyncPipeline(hub.server.orm, new MappingEngine({ root }), new Map([['erp', { name: 'erp', type: 'testerp', system: 'erp', connector }]]));
      expect((await pipeline.runStream('erp', 'inventory', { trigger: 'cli' })).status).toBe('SUCCEEDED');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }

    expect(await stockOf()).toBe(7);
    const [audit] = await sql(`select a.before, a.after from audit_log a join spare_part p on p.id = a.entity_id
      where a.entity_type = 'spare_part' and a.field = 'stock.WH-GZ' and p.code = 'GP-YSJ-72A'`);
    expect(audit).toMatchObject({ before: 0, after: 7 });
    const [event] = await sql(`select e.changes from ticket_event e join ticket t on t.id = e.ticket_id where t.number = ? and e.type = 'ENRICHED'`, [open]);
    expect(Object.keys(event.changes)).toContain('suggestedParts');
  });
});

describe('backfill of open tickets', () => {
  let hub: TestHub;
  beforeAll(async () => { hub = await startTestHub(); });
  afterAll(() => hub.stop());

  it('derives tickets that were loaded, not created, once; a second run changes nothing', async () => {
    const orm = hub.server.orm;
    const c = await insertCustomer(orm, { phone: '+8613800138001', name: '李雷', tier: 'GOLD' });
    await sqlRows(orm, `insert into ticket (number, customer_id, status, priority, fault) values
      ('T20261123-9001', ?, 'NEW', 'P2', '旧数据'), ('T20261123-9002', ?, 'CLOSED', 'P2', '已关闭')`, [c, c]);
    const enricher = new TicketEnricher(new MappingEngine());
    expect(await enrichOpenTickets(orm, enricher, { name: 'cli', origin: 'cli:enrich' })).toEqual({ checked: 1, changed: 1 });
    const t = await hub.gql(`{ open: ticket(number: "T20261123-9001") { enrichment { customerTier } history { type origin } }
      closed: ticket(number: "T20261123-9002") { enrichment { customerTier } } }`);
    expect(t.data.open).toEqual({ enrichment: { customerTier: 'GOLD' }, history: [{ type: 'ENRICHED', origin: 'cli:enrich' }] });
    expect(t.data.closed.enrichment).toBeNull();
    expect(await enrichOpenTickets(orm, enricher, { name: 'cli', origin: 'cli:enrich' })).toEqual({ checked: 1, changed: 0 });
  });
});
