/**
 * The Kingdee sandbox's account set (账套): the demo world of src/demo/dataset.ts as a K3 Cloud
 * account would hold it. Deterministic: same dataset and scale → deep-equal tables.
 *
 * Every table is keyed by FormId and holds rows keyed by the field keys the sandbox understands
 * (standard K3 keys such as `FNumber`, `FCustId.FNumber`, plus this account's custom fields, which
 * use the developer prefix `F_JUN_`). Values are what ExecuteBillQuery returns: numbers as JSON
 * numbers, datetimes as K3's server-local `2026-02-18T10:12:33` strings (UTC+8, no zone).
 *
 * What differs from the CRM on purpose (the hub must cope with it):
 * - customer phones typed in raw formats (spaces, dashes, +86, full-width digits);
 * - the NAME_MISMATCH customer spelled differently (刘阳 in the ERP, 刘洋 in the CRM);
 * - one serial registered under a mistyped model, `KFR-72LW/N8HR33` (an extra character), which
 *   also exists as a material created by mistake;
 * - serial numbers as people typed them (lower case, spaced groups, full-width);
 * - one spare part's stock split over two lots in one warehouse (the connector sums lots).
 */
import { DEMO_FIRST_MODEL, DEMO_NOW, DemoDataset, DemoRng, generateDemoDataset } from '../../../src/demo/dataset';
import { normalizePhone } from '../../../src/identity/normalize';

export type ColumnType = 'string' | 'number' | 'datetime';

export interface SandboxForm {
  formId: string;
  /** Field key → type. Lookups are case-insensitive, as in K3. */
  columns: Record<string, ColumnType>;
  /** Internal id field (FCUSTID, FID, ...): what Save returns as `Id`. */
  idKey: string;
  /** Business number field (FNumber / FBillNo): what Save upserts by and returns as `Number`. */
  numberKey: string;
  rows: Record<string, string | number | null>[];
}

export interface SandboxUser {
  username: string;
  password: string;
}

export interface SandboxApp {
  appId: string;
  appSecret: string;
  /** The integration user the app logs in as. */
  username: string;
}

export interface KingdeeSandboxData {
  /** 数据中心 ID (acctID) the logins must name. */
  acctId: string;
  /** Data centre display name, returned in the login Context. */
  acctName: string;
  users: SandboxUser[];
  apps: SandboxApp[];
  forms: Record<string, SandboxForm>;
}

/** Credentials of the sandbox account set (sandbox only: literal values are fine here). */
export const SANDBOX_ACCT_ID = '66f2a81c3d9e47';
export const SANDBOX_USER = 'junction.api';
export const SANDBOX_PASSWORD = 'Kd#Junction2026';
export const SANDBOX_APP_ID = '290417_W6aBz9Qk0fPe3NtD5yRhLcGm1uVx7sJi';
export const SANDBOX_APP_SECRET = 'f3d9b27c4e8a41c6a05e92d7b1c8f436';

/** Material groups: finished goods (device models) and spare parts (备件). */
export const GROUP_DEVICE_MODELS = 'FG';
export const GROUP_SPARE_PARTS = 'SP';

/** Warehouses (BD_STOCK) by demo warehouse name. */
export const SANDBOX_STOCKS: Record<string, string> = { 上海仓: 'CK001', 广州仓: 'CK002', 北京仓: 'CK003' };

/** K3's preset currency number for CNY (人民币). */
export const CURRENCY_CNY = 'PRE001';

/** The serial registered under a mistyped model (an extra "3"). */
export const MODEL_TYPO = { actual: DEMO_FIRST_MODEL, typed: `${DEMO_FIRST_MODEL}3` };

/** K3 Cloud runs on server-local time; the sandbox server is in China (UTC+8). */
export const SANDBOX_UTC_OFFSET_MINUTES = 8 * 60;

/** `2026-02-18T10:12:33` (ms only when non-zero, like K3's JSON) in server-local time. */
export function toKingdeeDateTime(instant: string | number | Date, offsetMinutes = SANDBOX_UTC_OFFSET_MINUTES): string {
  const ms = new Date(instant).getTime() + offsetMinutes * 60_000;
  const iso = new Date(ms).toISOString(); // shifted: the digits read as local time
  const base = iso.slice(0, 19);
  const frac = iso.slice(20, 23);
  return frac === '000' ? base : `${base}.${frac.replace(/0+$/, '')}`;
}

/** A calendar date (YYYY-MM-DD) as K3 returns date fields. */
export function kingdeeDate(day: string): string {
  return `${day}T00:00:00`;
}

export interface BuildOptions {
  /** Defaults to generateDemoDataset(). */
  dataset?: DemoDataset;
  /** Adds this many synthetic rows to every table (deterministic), for benchmarks. */
  scale?: number;
}

/** Builds the sandbox account set. Pure: no clock, no Math.random. */
export function buildKingdeeData(options: BuildOptions = {}): KingdeeSandboxData {
  const ds = options.dataset ?? generateDemoDataset();
  const forms: Record<string, SandboxForm> = {
    BD_Customer: customers(ds),
    BD_MATERIAL: materials(ds),
    SAL_SaleOrder: salesOrders(ds),
    BD_SerialMainFile: serials(ds),
    STK_Inventory: inventory(ds),
  };
  const scale = options.scale ?? 0;
  if (!Number.isInteger(scale) || scale < 0) throw new Error(`scale must be a non-negative integer, got ${scale}`);
  if (scale > 0) addSynthetic(forms, scale);
  forms.JUNC_ServiceRecord = serviceRecords(); // written by Junction, so never synthetic
  return {
    acctId: SANDBOX_ACCT_ID,
    acctName: 'Junction 演示账套',
    users: [{ username: SANDBOX_USER, password: SANDBOX_PASSWORD }],
    apps: [{ appId: SANDBOX_APP_ID, appSecret: SANDBOX_APP_SECRET, username: SANDBOX_USER }],
    forms,
  };
}

// ---------------------------------------------------------------------------------------------

/** ERP clerks type phones their own way; every form still normalizes to the same E.164. */
const ERP_PHONE_FORMATS: ((d: string) => string)[] = [
  (d) => `${d.slice(0, 3)}-${d.slice(3, 7)}-${d.slice(7)}`,
  (d) => d,
  (d) => `+86 ${d.slice(0, 3)} ${d.slice(3, 7)} ${d.slice(7)}`,
  (d) => `+86-${d}`,
  (d) => d.replace(/\d/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0)),
  (d) => `${d.slice(0, 3)} ${d.slice(3)}`,
];

function customers(ds: DemoDataset): SandboxForm {
  const rows = ds.customers.map((c, i) => {
    const digits = c.phone.slice(3); // +86 mobile numbers
    const tel = ERP_PHONE_FORMATS[i % ERP_PHONE_FORMATS.length](digits);
    if (normalizePhone(tel) !== c.phone) throw new Error(`sandbox phone ${tel} does not normalize to ${c.phone}`);
    return {
      FCUSTID: 100001 + i,
      FNumber: c.erpId,
      FName: c.erpName,
      FShortName: c.erpName,
      FTEL: tel,
      FDocumentStatus: 'C',
      FForbidStatus: 'A',
      'FUseOrgId.FNumber': '100',
      FCreateDate: toKingdeeDateTime(c.createdAt),
      // The demo's ERP source links carry createdAt as the record version.
      FModifyDate: toKingdeeDateTime(c.createdAt),
    };
  });
  return {
    formId: 'BD_Customer',
    idKey: 'FCUSTID',
    numberKey: 'FNumber',
    columns: {
      FCUSTID: 'number',
      FNumber: 'string',
      FName: 'string',
      FShortName: 'string',
      FTEL: 'string',
      FDocumentStatus: 'string',
      FForbidStatus: 'string',
      'FUseOrgId.FNumber': 'string',
      FCreateDate: 'datetime',
      FModifyDate: 'datetime',
    },
    rows,
  };
}

const MATERIAL_COLUMNS: Record<string, ColumnType> = {
  FMATERIALID: 'number',
  FNumber: 'string',
  FName: 'string',
  FSpecification: 'string',
  'FMaterialGroup.FNumber': 'string',
  'FMaterialGroup.FName': 'string',
  'FBaseUnitId.FNumber': 'string',
  F_JUN_FitModels: 'string',
  FDocumentStatus: 'string',
  FForbidStatus: 'string',
  FCreateDate: 'datetime',
  FModifyDate: 'datetime',
};

function modelTitle(brand: string, kind: string, model: string): string {
  return `${brand}${kind === 'AC' ? '空调' : '智能门锁'} ${model}`;
}

function materials(ds: DemoDataset): SandboxForm {
  const rows: SandboxForm['rows'] = [];
  let id = 200001;
  const models = new Map<string, { brand: string; kind: string }>();
  for (const d of ds.devices) if (!models.has(d.model)) models.set(d.model, { brand: d.brand, kind: d.kind });
  const modelCreated = toKingdeeDateTime('2022-12-05T01:30:00.000Z');
  for (const [model, { brand, kind }] of [...models.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    rows.push(material(id++, model, modelTitle(brand, kind, model), model, GROUP_DEVICE_MODELS, '成品', 'Pcs', '', modelCreated));
  }
  // The mistyped model someone created later (an extra "3"): serials registered under it point at the wrong spare parts.
  const typo = models.get(MODEL_TYPO.actual)!;
  rows.push(
    material(id++, MODEL_TYPO.typed, modelTitle(typo.brand, typo.kind, MODEL_TYPO.actual), MODEL_TYPO.typed, GROUP_DEVICE_MODELS, '成品', 'Pcs', '', toKingdeeDateTime('2024-11-02T06:41:00.000Z')),
  );
  for (const p of ds.spareParts) {
    const fit = p.compatibility.map((c) => (c.firmwarePrefix ? `${c.model}@${c.firmwarePrefix}` : c.model)).join(';');
    rows.push(material(id++, p.code, p.name, `${p.name} ${p.code}`, GROUP_SPARE_PARTS, '备件', 'Pcs', fit, toKingdeeDateTime(p.createdAt)));
  }
  return { formId: 'BD_MATERIAL', idKey: 'FMATERIALID', numberKey: 'FNumber', columns: { ...MATERIAL_COLUMNS }, rows };
}

function material(id: number, number: string, name: string, spec: string, group: string, groupName: string, unit: string, fit: string, at: string) {
  return {
    FMATERIALID: id,
    FNumber: number,
    FName: name,
    FSpecification: spec,
    'FMaterialGroup.FNumber': group,
    'FMaterialGroup.FName': groupName,
    'FBaseUnitId.FNumber': unit,
    F_JUN_FitModels: fit,
    FDocumentStatus: 'C',
    FForbidStatus: 'A',
    FCreateDate: at,
    FModifyDate: at,
  };
}

function salesOrders(ds: DemoDataset): SandboxForm {
  const custByPhone = new Map(ds.customers.map((c) => [c.phone, c]));
  const orderIds = new Map<string, number>();
  const rows = ds.purchases.map((p, i) => {
    if (!orderIds.has(p.orderNumber)) orderIds.set(p.orderNumber, 100001 + orderIds.size);
    const c = custByPhone.get(p.customerPhone)!;
    return {
      FID: orderIds.get(p.orderNumber)!,
      FBillNo: p.orderNumber,
      FDate: kingdeeDate(p.orderedAt),
      'FCustId.FNumber': c.erpId,
      'FCustId.FName': c.erpName,
      'FSettleCurrId.FNumber': CURRENCY_CNY,
      FDocumentStatus: 'C',
      FCreateDate: toKingdeeDateTime(p.createdAt),
      FModifyDate: toKingdeeDateTime(p.createdAt),
      FSaleOrderEntry_FEntryID: 500001 + i,
      FSaleOrderEntry_FSeq: p.lineNo,
      'FMaterialId.FNumber': p.model,
      'FMaterialId.FName': p.model,
      FQty: p.quantity,
      FAllAmount: Number(p.amount),
      F_JUN_SerialNo: p.deviceSerial,
    };
  });
  return {
    formId: 'SAL_SaleOrder',
    idKey: 'FID',
    numberKey: 'FBillNo',
    columns: {
      FID: 'number',
      FBillNo: 'string',
      FDate: 'datetime',
      'FCustId.FNumber': 'string',
      'FCustId.FName': 'string',
      'FSettleCurrId.FNumber': 'string',
      FDocumentStatus: 'string',
      FCreateDate: 'datetime',
      FModifyDate: 'datetime',
      FSaleOrderEntry_FEntryID: 'number',
      FSaleOrderEntry_FSeq: 'number',
      'FMaterialId.FNumber': 'string',
      'FMaterialId.FName': 'string',
      FQty: 'number',
      FAllAmount: 'number',
      F_JUN_SerialNo: 'string',
    },
    rows,
  };
}

/** The device whose serial record names the mistyped model: the third KFR-72LW/N8HR3 sold. */
export function modelTypoSerial(ds: DemoDataset): string {
  const list = ds.devices.filter((d) => d.model === MODEL_TYPO.actual);
  if (list.length < 3) throw new Error('demo dataset has too few devices of the first model for the typo case');
  return list[2].serial;
}

function serials(ds: DemoDataset): SandboxForm {
  const custByPhone = new Map(ds.customers.map((c) => [c.phone, c]));
  const typoSerial = modelTypoSerial(ds);
  const rows = ds.devices.map((d) => {
    const owner = custByPhone.get(d.ownerPhone)!;
    const model = d.serial === typoSerial ? MODEL_TYPO.typed : d.model;
    return {
      FSERIALID: Number(d.erpId),
      FNumber: d.rawSerial.trim(),
      'FMaterialID.FNumber': model,
      'FMaterialID.FName': model,
      'F_JUN_CustId.FNumber': owner.erpId,
      F_JUN_ShipDate: kingdeeDate(d.purchaseDate),
      F_JUN_WarrantyEnd: kingdeeDate(d.warrantyEnd),
      F_JUN_Firmware: d.firmware,
      FCreateDate: toKingdeeDateTime(d.createdAt),
      FModifyDate: toKingdeeDateTime(d.createdAt),
    };
  });
  return {
    formId: 'BD_SerialMainFile',
    idKey: 'FSERIALID',
    numberKey: 'FNumber',
    columns: {
      FSERIALID: 'number',
      FNumber: 'string',
      'FMaterialID.FNumber': 'string',
      'FMaterialID.FName': 'string',
      'F_JUN_CustId.FNumber': 'string',
      F_JUN_ShipDate: 'datetime',
      F_JUN_WarrantyEnd: 'datetime',
      F_JUN_Firmware: 'string',
      FCreateDate: 'datetime',
      FModifyDate: 'datetime',
    },
    rows,
  };
}

/** Deterministic GUID-looking inventory row id (STK_Inventory.FID is a 36-character string). */
function inventoryId(seed: string): string {
  let hex = '';
  for (let round = 0; round < 4; round++) {
    let h = (0x811c9dc5 ^ Math.imul(round + 1, 0x9e3779b1)) >>> 0;
    for (const ch of seed) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
    hex += h.toString(16).padStart(8, '0');
  }
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

function inventory(ds: DemoDataset): SandboxForm {
  const rows: SandboxForm['rows'] = [];
  let split = false;
  for (const p of ds.spareParts) {
    for (const s of p.stock) {
      const base = {
        'FStockOrgId.FNumber': '100',
        'FMaterialId.FNumber': p.code,
        'FMaterialId.FName': p.name,
        'FStockId.FNumber': SANDBOX_STOCKS[s.warehouse],
        'FStockId.FName': s.warehouse,
        'FBaseUnitId.FNumber': 'Pcs',
      };
      // The first stock of at least 4 is held in two lots: the connector must add them up.
      if (!split && s.quantity >= 4) {
        split = true;
        const first = Math.ceil(s.quantity / 2);
        rows.push({ FID: inventoryId(`${p.code}|${s.warehouse}|1`), ...base, 'FLot.FNumber': 'L20260901', FBaseQty: first });
        rows.push({ FID: inventoryId(`${p.code}|${s.warehouse}|2`), ...base, 'FLot.FNumber': 'L20261015', FBaseQty: s.quantity - first });
      } else {
        rows.push({ FID: inventoryId(`${p.code}|${s.warehouse}`), ...base, 'FLot.FNumber': '', FBaseQty: s.quantity });
      }
    }
  }
  return {
    formId: 'STK_Inventory',
    idKey: 'FID',
    numberKey: 'FID',
    columns: {
      FID: 'string',
      'FStockOrgId.FNumber': 'string',
      'FMaterialId.FNumber': 'string',
      'FMaterialId.FName': 'string',
      'FStockId.FNumber': 'string',
      'FStockId.FName': 'string',
      'FBaseUnitId.FNumber': 'string',
      'FLot.FNumber': 'string',
      FBaseQty: 'number',
    },
    rows,
  };
}

/** N extra rows per table, seeded, with modify dates spread over 2025–2026. */
function addSynthetic(forms: Record<string, SandboxForm>, n: number): void {
  const rng = new DemoRng(0x6b640e3);
  const start = Date.parse('2025-01-01T00:00:00.000Z');
  const span = Date.parse(DEMO_NOW) - start;
  const at = () => toKingdeeDateTime(start + Math.floor(rng.next() * span / 1000) * 1000);
  const customers = forms.BD_Customer;
  const stocks = Object.entries(SANDBOX_STOCKS);
  for (let i = 0; i < n; i++) {
    const number = `CUSTS${String(i + 1).padStart(7, '0')}`;
    const tel = `1${rng.pick(['33', '35', '37', '38', '39', '58', '86', '89'])}${rng.digits(8)}`;
    const when = at();
    customers.rows.push({
      FCUSTID: 1_000_001 + i,
      FNumber: number,
      FName: `合成客户${i + 1}`,
      FShortName: `合成客户${i + 1}`,
      FTEL: tel,
      FDocumentStatus: 'C',
      FForbidStatus: 'A',
      'FUseOrgId.FNumber': '100',
      FCreateDate: when,
      FModifyDate: when,
    });
    const code = `SP-S${String(i + 1).padStart(6, '0')}`;
    forms.BD_MATERIAL.rows.push(material(2_000_001 + i, code, '合成备件', `合成备件 ${code}`, GROUP_SPARE_PARTS, '备件', 'Pcs', DEMO_FIRST_MODEL, at()));
    const serial = `SYN${String(i + 1).padStart(9, '0')}`;
    forms.BD_SerialMainFile.rows.push({
      FSERIALID: 3_000_001 + i,
      FNumber: serial,
      'FMaterialID.FNumber': DEMO_FIRST_MODEL,
      'FMaterialID.FName': DEMO_FIRST_MODEL,
      'F_JUN_CustId.FNumber': number,
      F_JUN_ShipDate: kingdeeDate('2025-06-01'),
      F_JUN_WarrantyEnd: kingdeeDate('2031-05-31'),
      F_JUN_Firmware: 'V3.1.0',
      FCreateDate: when,
      FModifyDate: when,
    });
    forms.SAL_SaleOrder.rows.push({
      FID: 4_000_001 + i,
      FBillNo: `XSDDS${String(i + 1).padStart(7, '0')}`,
      FDate: kingdeeDate('2025-06-01'),
      'FCustId.FNumber': number,
      'FCustId.FName': `合成客户${i + 1}`,
      'FSettleCurrId.FNumber': CURRENCY_CNY,
      FDocumentStatus: 'C',
      FCreateDate: when,
      FModifyDate: when,
      FSaleOrderEntry_FEntryID: 5_000_001 + i,
      FSaleOrderEntry_FSeq: 1,
      'FMaterialId.FNumber': DEMO_FIRST_MODEL,
      'FMaterialId.FName': DEMO_FIRST_MODEL,
      FQty: 1,
      FAllAmount: 8999,
      F_JUN_SerialNo: serial,
    });
    const [warehouse, stock] = stocks[i % stocks.length];
    forms.STK_Inventory.rows.push({
      FID: inventoryId(`synthetic|${i}`),
      'FStockOrgId.FNumber': '100',
      'FMaterialId.FNumber': code,
      'FMaterialId.FName': '合成备件',
      'FStockId.FNumber': stock,
      'FStockId.FName': warehouse,
      'FBaseUnitId.FNumber': 'Pcs',
      'FLot.FNumber': '',
      FBaseQty: rng.int(0, 50),
    });
  }
}

/**
 * A custom form (developer code JUNC) the site adds for Junction's write-back: one service
 * record per ticket (FNumber = ticket number) on a serial. Empty until Junction writes.
 */
function serviceRecords(): SandboxForm {
  return {
    formId: 'JUNC_ServiceRecord',
    columns: {
      FID: 'number', FNumber: 'string', F_JUNC_SerialNo: 'string', F_JUNC_Status: 'string', F_JUNC_Fault: 'string',
      F_JUNC_Solution: 'string', F_JUNC_Remark: 'string', F_JUNC_Key: 'string', FCreateDate: 'datetime', FModifyDate: 'datetime',
    },
    idKey: 'FID',
    numberKey: 'FNumber',
    rows: [],
  };
}
