/**
 * End to end against the Kingdee sandbox (a real HTTP server on a free port): every stream read
 * through the real connector, mapped with its mapping, counted against the sandbox data; the
 * incremental cursor after a change; error injection through the sandbox's control hooks.
 */
import { ConnectorEntry, ConnectorError, createConnector, fakeClock, FakeClock, SourceRecord } from '../../src/connectors';
import { generateDemoDataset } from '../../src/demo/dataset';
import { normalizePhone, normalizeSerial } from '../../src/identity/normalize';
import type { KingdeeConnector } from './index';
import './index';
import { STREAM_NAMES } from './streams';
import { buildKingdeeData, GROUP_SPARE_PARTS, MODEL_TYPO, modelTypoSerial, SANDBOX_ACCT_ID, SANDBOX_APP_ID, SANDBOX_APP_SECRET, SANDBOX_PASSWORD, SANDBOX_USER, toKingdeeDateTime } from './sandbox/data';
import { KingdeeSandbox, startKingdeeSandbox } from './sandbox/server';
import { formChanged } from './sandbox/form-index';
import { evaluateMapping, readFirstPages, readPages, recordsOf } from './testing';

let sandbox: KingdeeSandbox;
let clock: FakeClock;
const dataset = generateDemoDataset();

function entry(over: Partial<ConnectorEntry> = {}): ConnectorEntry {
  return {
    name: 'erp',
    type: 'kingdee',
    baseUrl: sandbox.url,
    sandbox: true,
    credentials: { username: { value: SANDBOX_USER }, password: { value: SANDBOX_PASSWORD } },
    retry: { baseDelayMs: 10, maxAttempts: 3 },
    streams: {},
    options: { acctId: SANDBOX_ACCT_ID },
    ...over,
  };
}

function connector(over: Partial<ConnectorEntry> = {}): KingdeeConnector {
  return createConnector(entry(over), { env: {}, clock, random: () => 0.5 }) as KingdeeConnector;
}

async function failure(p: Promise<unknown>): Promise<ConnectorError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ConnectorError);
    return err as ConnectorError;
  }
  throw new Error('expected a ConnectorError');
}

beforeAll(async () => {
  sandbox = await startKingdeeSandbox({ port: 0 });
});
afterAll(async () => {
  await sandbox.close();
});
beforeEach(() => {
  clock = fakeClock();
  sandbox.control.reset();
});

describe('sandbox data', () => {
  it('is deterministic and carries the demo world with its ERP quirks', () => {
    const data = buildKingdeeData();
    expect(buildKingdeeData()).toEqual(data);
    const customers = data.forms.BD_Customer.rows;
    expect(customers).toHaveLength(dataset.customers.length);
    // Phones in raw formats that all normalize to the CRM's E.164 numbers.
    expect(new Set(customers.map((c) => String(c.FTEL).replace(/\d/g, '9'))).size).toBeGreaterThan(3);
    expect(customers.map((c) => normalizePhone(String(c.FTEL)))).toEqual(dataset.customers.map((c) => c.phone));
    // NAME_MISMATCH: one customer spelled differently from the CRM.
    const mismatch = dataset.customers.filter((c, i) => customers[i].FName !== c.name);
    expect(mismatch.map((c) => c.name)).toEqual(['刘洋']);
    // The serial registered under the mistyped model, and that model as a material.
    const typo = data.forms.BD_SerialMainFile.rows.find((r) => normalizeSerial(String(r.FNumber)) === modelTypoSerial(dataset));
    expect(typo?.['FMaterialID.FNumber']).toBe('KFR-72LW/N8HR33');
    expect(data.forms.BD_MATERIAL.rows.some((r) => r.FNumber === MODEL_TYPO.typed)).toBe(true);
    // Warehouses as the demo names them.
    expect(new Set(data.forms.STK_Inventory.rows.map((r) => r['FStockId.FName']))).toEqual(new Set(['上海仓', '广州仓', '北京仓']));
  });

  it('adds N synthetic rows per table with scale', () => {
    const base = buildKingdeeData();
    const scaled = buildKingdeeData({ scale: 25 });
    for (const [formId, form] of Object.entries(scaled.forms)) {
      // the write-back form starts empty: only Junction writes it
      expect(form.rows.length).toBe(base.forms[formId].rows.length + (formId === 'JUNC_ServiceRecord' ? 0 : 25));
    }
    expect(buildKingdeeData({ scale: 25 })).toEqual(scaled);
  });
});

describe('reading every stream from the sandbox', () => {
  const read = async (c: KingdeeConnector, stream: string, pageSize = 7) => recordsOf(await readPages(c.streams[stream], null, { pageSize }));

  it('reads every stream to the end; counts match the data; every record maps to its entity', async () => {
    const c = connector();
    const loginsBefore = sandbox.control.logins;
    const forms = sandbox.control.data.forms;
    const expected: Record<string, number> = {
      customers: forms.BD_Customer.rows.length,
      materials: forms.BD_MATERIAL.rows.filter((r) => r['FMaterialGroup.FNumber'] === GROUP_SPARE_PARTS).length,
      sales_orders: forms.SAL_SaleOrder.rows.length,
      serials: forms.BD_SerialMainFile.rows.length,
      inventory: new Set(forms.STK_Inventory.rows.map((r) => `${r['FMaterialId.FNumber']}|${r['FStockId.FNumber']}`)).size,
    };
    expect(expected).toEqual({ customers: 40, materials: 21, sales_orders: 80, serials: 80, inventory: dataset.spareParts.reduce((n, p) => n + p.stock.length, 0) });
    for (const stream of STREAM_NAMES) {
      const records = await read(c, stream);
      expect({ stream, count: records.length }).toEqual({ stream, count: expected[stream] });
      expect(new Set(records.map((r) => r.externalId)).size).toBe(records.length);
      for (const r of records) {
        const out = (await evaluateMapping(stream, r.payload, { externalId: r.externalId })) as { entity: string };
        expect(out.entity).toBe(c.streams[stream].entity);
      }
    }
    expect(sandbox.control.logins - loginsBefore).toBe(1); // one session for the whole run
  });

  it('hands the hub the demo world: phones, owners, warranty ends, purchases and stock per warehouse', async () => {
    const c = connector();
    const customers = await read(c, 'customers', 500);
    const phoneByNumber = new Map<string, string>();
    for (const r of customers) {
      const m = (await evaluateMapping('customers', r.payload)) as { phone: string };
      phoneByNumber.set(r.externalId, m.phone);
    }
    expect(new Set(phoneByNumber.values())).toEqual(new Set(dataset.customers.map((x) => x.phone)));
    // Record versions are UTC instants, equal to what the demo's ERP source links carry.
    const links = new Map(dataset.sourceLinks.filter((l) => l.system === 'erp').map((l) => [`${l.stream}/${l.externalId}`, l.version]));
    for (const r of customers) expect(r.version).toBe(links.get(`customers/${r.externalId}`));

    const devices = new Map(dataset.devices.map((d) => [d.serial, d]));
    for (const r of await read(c, 'serials', 500)) {
      const m = (await evaluateMapping('serials', r.payload)) as { serial: string; model: string; warrantyEnd: string; purchaseDate: string; owner: { ref: { externalId: string } } };
      const d = devices.get(m.serial)!;
      expect({ serial: m.serial, warrantyEnd: m.warrantyEnd, purchaseDate: m.purchaseDate, owner: phoneByNumber.get(m.owner.ref.externalId) }).toEqual({
        serial: d.serial,
        warrantyEnd: d.warrantyEnd,
        purchaseDate: d.purchaseDate,
        owner: d.ownerPhone,
      });
      expect(m.model).toBe(d.serial === modelTypoSerial(dataset) ? MODEL_TYPO.typed : d.model);
      expect(r.externalId).toBe(d.erpId);
      expect(r.version).toBe(links.get(`serials/${r.externalId}`));
    }

    const purchases = await read(c, 'sales_orders', 500);
    expect(purchases.map((r) => r.externalId).sort()).toEqual(dataset.purchases.map((p) => `${p.orderNumber}-${p.lineNo}`).sort());
    for (const r of purchases) expect(r.version).toBe(links.get(`sales_orders/${r.externalId}`));

    const stock = new Map<string, number>();
    for (const r of await read(c, 'inventory', 5)) {
      const m = (await evaluateMapping('inventory', r.payload)) as { partCode: string; warehouse: string; quantity: number };
      stock.set(`${m.partCode}|${m.warehouse}`, m.quantity);
    }
    const want = new Map(dataset.spareParts.flatMap((p) => p.stock.map((s) => [`${p.code}|${s.warehouse}`, s.quantity] as const)));
    expect(stock).toEqual(want);
  });

  it('reads the same with the SDK envelope (requestFormat parameters) and with LoginByAppSecret', async () => {
    const c = connector({
      credentials: { username: { value: SANDBOX_USER }, appId: { value: SANDBOX_APP_ID }, appSecret: { value: SANDBOX_APP_SECRET } },
      options: { acctId: SANDBOX_ACCT_ID, requestFormat: 'parameters' },
    });
    expect(await read(c, 'customers', 9)).toHaveLength(40);
    expect(sandbox.control.requests[0].service).toBe('LoginByAppSecret');
    expect(typeof (sandbox.control.requests[1].body as { parameters: unknown }).parameters).toBe('string');
  });
});

describe('incremental reads against the sandbox', () => {
  it('after a change, an incremental read from the last cursor returns only the changed row', async () => {
    const c = connector();
    const full = await readPages(c.streams.customers, null, { pageSize: 16 });
    const cursor = full[full.length - 1].cursor;
    expect(cursor).not.toBeNull();
    expect(recordsOf(await readPages(c.streams.customers, cursor))).toEqual([]);

    expect(sandbox.control.modify('BD_Customer', { FNumber: 'CUST10007' }, { FTEL: '+86 136 0124 7226' })).toBe(1);
    const pages = await readPages(c.streams.customers, cursor);
    const changed = recordsOf(pages);
    expect(changed.map((r) => r.externalId)).toEqual(['CUST10007']);
    expect(await evaluateMapping('customers', changed[0].payload)).toMatchObject({ phone: '+8613601247226' });
    expect(changed[0].updatedAt).toBe(new Date(Date.parse(`${sandbox.control.now()}+08:00`)).toISOString());
    // …and nothing more after it.
    expect(recordsOf(await readPages(c.streams.customers, pages[pages.length - 1].cursor))).toEqual([]);
  });

  it('after a Save that updates a row, a full read puts it last and a read from the last cursor returns it (no stale page)', async () => {
    const c = connector();
    const ids = async (cursor: string | null = null) => recordsOf(await readPages(c.streams.customers, cursor, { pageSize: 9 })).map((r) => r.externalId);
    const full = await readPages(c.streams.customers, null, { pageSize: 9 });
    const before = recordsOf(full).map((r) => r.externalId);
    const name = sandbox.control.data.forms.BD_Customer.rows.find((r) => r.FNumber === 'CUST10008')!.FName;
    await c.client.save('BD_Customer', { Model: { FCUSTID: 0, FNumber: 'CUST10008', FName: name } });
    expect(await ids(full[full.length - 1].cursor)).toEqual(['CUST10008']);
    expect(await ids()).toEqual([...before.filter((id) => id !== 'CUST10008'), 'CUST10008']);
  });

  it('resumes exactly after a crash between pages, even when many rows share one modify date', async () => {
    const c = connector();
    // The 21 spare parts were all created at the same instant: the order rests on FMATERIALID.
    const first = await readFirstPages(c.streams.materials, 2, null, { pageSize: 4 });
    const rest = await readPages(c.streams.materials, first[1].cursor, { pageSize: 4 });
    const ids = recordsOf([...first, ...rest]).map((r) => r.externalId);
    expect(ids).toHaveLength(21);
    expect(new Set(ids).size).toBe(21);
    expect(new Set(ids)).toEqual(new Set(dataset.spareParts.map((p) => p.code)));
  });

  it('reads a row stamped just before the stored cursor that committed after the read (settle window)', async () => {
    const c = connector();
    const form = sandbox.control.data.forms.BD_Customer;
    const full = await readPages(c.streams.customers, null, { pageSize: 16 });
    const cursor = full[full.length - 1].cursor;
    // A long Save on another app server: stamped a second before the newest row read, committed now.
    const newest = Math.max(...form.rows.map((r) => Date.parse(`${String(r.FModifyDate)}+08:00`)));
    form.rows.push({ ...form.rows[0], FCUSTID: 100099, FNumber: 'CUST10099', FName: '迟到的客户', FModifyDate: toKingdeeDateTime(newest - 1000) });
    formChanged(form);
    try {
      expect(recordsOf(await readPages(c.streams.customers, cursor)).map((r) => r.externalId)).toEqual(['CUST10099']);
    } finally {
      form.rows.pop(); // leave the shared sandbox as it was
      formChanged(form);
    }
  });

  it('picks up a record written through Save', async () => {
    const c = connector();
    const full = await readPages(c.streams.customers, null, { pageSize: 500 });
    const saved = await c.client.save('BD_Customer', { Model: { FCUSTID: 0, FNumber: 'CUST10041', FName: '新客户', FTEL: '139 0000 0041' } });
    expect(saved.number).toBe('CUST10041');
    const next = recordsOf(await readPages(c.streams.customers, full[full.length - 1].cursor));
    expect(next.map((r) => r.externalId)).toEqual(['CUST10041']);
    sandbox.control.data.forms.BD_Customer.rows.pop(); // leave the shared sandbox as it was
  });
});

describe('customers allocated to several organisations', () => {
  it('reads one row per number with the documented FUseOrgId filter (unfiltered, the copies share the id)', async () => {
    const form = sandbox.control.data.forms.BD_Customer;
    const original = form.rows[0];
    // CUST…0 allocated to organisation 200: K3 adds a row with its own FCUSTID and the same FNumber.
    form.rows.push({ ...original, FCUSTID: 100501, FForbidStatus: 'B', 'FUseOrgId.FNumber': '200' });
    formChanged(form);
    try {
      const ids = async (c: KingdeeConnector) => recordsOf(await readPages(c.streams.customers, null, { pageSize: 500 })).map((r) => r.externalId);
      const unfiltered = await ids(connector());
      expect(unfiltered.filter((id) => id === original.FNumber)).toHaveLength(2); // the limitation the filter is for
      const filtered = await ids(connector({ streams: { customers: { filter: "FUseOrgId.FNumber = '100'" } } }));
      expect(filtered).toHaveLength(40);
      expect(new Set(filtered).size).toBe(40);
    } finally {
      form.rows.pop(); // leave the shared sandbox as it was
      formChanged(form);
    }
  });
});

describe('inventory snapshot against the sandbox', () => {
  it('reads every remaining row when a row before the page is deleted between pages', async () => {
    const c = connector();
    const form = sandbox.control.data.forms.STK_Inventory;
    const original = form.rows.slice();
    const group = (r: Record<string, unknown>) => `${String(r['FMaterialId.FNumber'])}|${String(r['FStockId.FNumber'])}`;
    const quantities = new Map<string, number>();
    let goneGroup = '';
    try {
      for await (const page of c.streams.inventory.read(null, { pageSize: 5 })) {
        for (const r of page.records) quantities.set(r.externalId, (r.payload as { FBaseQty: number }).FBaseQty);
        if (goneGroup) continue;
        // After the first page: a stock row already delivered disappears (moved, counted to zero).
        goneGroup = page.records[0].externalId;
        const gone = (page.records[0].payload as { rows: { FID: string }[] }).rows[0].FID;
        form.rows.splice(form.rows.findIndex((r) => r.FID === gone), 1);
        formChanged(form);
      }
      const want = new Map<string, number>();
      for (const r of form.rows) want.set(group(r), Math.round(((want.get(group(r)) ?? 0) + Number(r.FBaseQty)) * 1e9) / 1e9);
      // Every group still in the data was read, with every one of its rows.
      for (const [id, qty] of want) if (id !== goneGroup) expect({ id, qty: quantities.get(id) }).toEqual({ id, qty });
      expect(new Set(quantities.keys())).toEqual(new Set(original.map(group)));
    } finally {
      form.rows.splice(0, form.rows.length, ...original); // leave the shared sandbox as it was
      formChanged(form);
    }
  });
});

describe('failures injected through the sandbox', () => {
  it('logs in again when the site forgets every session, and carries on', async () => {
    const c = connector();
    const loginsBefore = sandbox.control.logins;
    const first = await readFirstPages(c.streams.serials, 1, null, { pageSize: 10 });
    sandbox.control.expireSessions();
    const rest = await readPages(c.streams.serials, first[0].cursor, { pageSize: 10 });
    expect(recordsOf([...first, ...rest])).toHaveLength(80);
    expect(sandbox.control.logins - loginsBefore).toBe(2);
  });

  it('gives up with CONNECTOR_AUTH_FAILED when the new session is lost as well', async () => {
    const loginsBefore = sandbox.control.logins;
    sandbox.control.loseSessionNext(2);
    const c = connector();
    const err = await failure(readPages(c.streams.customers));
    expect(err.code).toBe('CONNECTOR_AUTH_FAILED');
    expect(err.message).toContain('会话信息已丢失');
    expect(sandbox.control.logins - loginsBefore).toBe(2); // the first login and exactly one more
    expect(sandbox.control.requests.map((r) => r.service)).toEqual(['ValidateUser', 'ExecuteBillQuery', 'ValidateUser', 'ExecuteBillQuery']);
  });

  it('retries a 503 and a 500 page', async () => {
    const c = connector();
    sandbox.control.failNext(2, 503);
    const records: SourceRecord[] = recordsOf(await readPages(c.streams.sales_orders, null, { pageSize: 500 }));
    expect(records).toHaveLength(80);
    expect(clock.sleeps).toHaveLength(2);
  });

  it('reports a garbled body as CONNECTOR_BAD_RESPONSE', async () => {
    const c = connector();
    await c.healthCheck();
    sandbox.control.garbleNext(1);
    expect((await failure(readPages(c.streams.customers))).code).toBe('CONNECTOR_BAD_RESPONSE');
  });

  it('reports an unknown field key with the vendor-style message', async () => {
    const c = connector({ streams: { serials: { fields: { WarrantyEnd: 'F_ABC_WarrantyEnd' } } } });
    const err = await failure(readPages(c.streams.serials));
    expect(err.code).toBe('CONNECTOR_REQUEST_REJECTED');
    expect(err.vendorErrors?.[0]).toMatchObject({ code: 'MsgCode 9', field: 'F_ABC_WarrantyEnd' });
  });

  it('health check: ok with good credentials, the vendor message with a wrong password', async () => {
    expect(await connector().healthCheck()).toMatchObject({ ok: true, details: { acctId: SANDBOX_ACCT_ID, formId: 'BD_Customer' } });
    const bad = await connector({ credentials: { username: { value: SANDBOX_USER }, password: { value: 'wrong-password' } } }).healthCheck();
    expect(bad).toMatchObject({ ok: false, code: 'CONNECTOR_AUTH_FAILED' });
    expect(bad.message).toContain('用户名或密码错误');
    expect(bad.message).not.toContain('wrong-password');
  });

  it('a slow answer is waited for (within the timeout)', async () => {
    sandbox.control.delayNext(1, 30);
    expect(await connector().healthCheck()).toMatchObject({ ok: true });
  });
});

describe('scale', () => {
  it('serves the synthetic rows', async () => {
    const big = await startKingdeeSandbox({ port: 0, scale: 120 });
    try {
      const c = createConnector({ ...entry(), baseUrl: big.url }, { env: {}, clock }) as KingdeeConnector;
      expect(recordsOf(await readPages(c.streams.customers, null, { pageSize: 2000 }))).toHaveLength(160);
    } finally {
      await big.close();
    }
  });
});
