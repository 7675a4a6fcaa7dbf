/**
 * The demo data set: a small Chinese service company (air conditioners and smart locks) as the
 * hub would hold it after syncing its CRM, ERP and IoT platform.
 *
 * Generation is pure and deterministic: a seeded PRNG, no Math.random, no clock. Every date is
 * anchored to DEMO_TODAY, so the same seed gives byte-identical output on every run and machine.
 * Records refer to each other by natural keys (phone, serial, order line, ticket number), never by
 * database ids; the loader resolves those keys with set-based SQL.
 */
import { normalizePhone, normalizeSerial } from '../identity/normalize';
import { TicketEventType, TicketPriority, TicketStatus } from '../tickets/ticket-enums';
import type { LineageMap } from '../db/entities/base';
import { slaDeadlines } from '../tickets/rules';

/** The demo's "today" (Asia/Shanghai calendar date) and "now" (10:00 that morning, China time). */
export const DEMO_TODAY = '2026-11-20';
export const DEMO_NOW = '2026-11-20T02:00:00.000Z';
export const DEMO_SEED = 20261120;
/** Origin written on every ticket event the demo creates. */
export const DEMO_ORIGIN = 'demo';

/** The first customer: README examples use this phone (in any written form) and name. */
export const DEMO_FIRST_PHONE = '+8613800138000';
export const DEMO_FIRST_NAME = '张伟';
export const DEMO_FIRST_MODEL = 'KFR-72LW/N8HR3';
export const DEMO_FIRST_TICKET = 'T20260218-8892';

export const DEMO_WAREHOUSES = ['上海仓', '广州仓', '北京仓'] as const;

export type DeviceKind = 'AC' | 'LOCK';
export type Tier = 'VIP' | 'GOLD' | 'SILVER' | 'STANDARD';

export interface DemoCustomer {
  /** E.164 (normalizePhone of rawPhone): the identity key. */
  phone: string;
  /** As the CRM has it typed. */
  rawPhone: string;
  name: string;
  tier: Tier;
  region: string;
  /** Salesforce Account id (crm/accounts). */
  crmId: string;
  /** Kingdee customer number (erp/customers). */
  erpId: string;
  /** Name as the ERP spells it (differs from `name` for the NAME_MISMATCH demo issue). */
  erpName: string;
  createdAt: string;
  updatedAt: string;
  lineage: LineageMap;
}

export interface DemoDevice {
  /** normalizeSerial(rawSerial): the identity key. */
  serial: string;
  rawSerial: string;
  kind: DeviceKind;
  brand: string;
  model: string;
  firmware: string;
  purchaseDate: string;
  warrantyEnd: string;
  ownerPhone: string;
  /** Kingdee serial-number record id (erp/serials). */
  erpId: string;
  /** ThingsBoard device id (iot/devices), null when the device never connected. */
  iotId: string | null;
  createdAt: string;
  updatedAt: string;
  lineage: LineageMap;
}

export interface DemoTelemetry {
  serial: string;
  online: boolean;
  lastSeenAt: string;
  runCount: number;
  alerts: string[];
  updatedAt: string;
  lineage: LineageMap;
}

export interface DemoPurchase {
  orderNumber: string;
  lineNo: number;
  customerPhone: string;
  deviceSerial: string | null;
  model: string;
  quantity: number;
  /** CNY, two decimals, as text (numeric(14,2)). */
  amount: string;
  currency: 'CNY';
  orderedAt: string;
  createdAt: string;
  lineage: LineageMap;
}

export interface DemoSparePart {
  code: string;
  name: string;
  compatibility: { model: string; firmwarePrefix: string }[];
  stock: { warehouse: string; quantity: number }[];
  createdAt: string;
  stockUpdatedAt: string;
}

export interface DemoTicketEvent {
  seq: number;
  type: TicketEventType;
  fromStatus: TicketStatus | null;
  toStatus: TicketStatus | null;
  changes: Record<string, { before: unknown; after: unknown }>;
  note: string | null;
  actor: string;
  origin: string;
  at: string;
}

export interface DemoTicket {
  number: string;
  customerPhone: string;
  deviceSerial: string | null;
  category: [string, string, string];
  priority: TicketPriority;
  status: TicketStatus;
  fault: string;
  solution: string | null;
  blockingReason: string | null;
  eta: string | null;
  slaResponseDue: string;
  slaResolveDue: string;
  resolvedAt: string | null;
  closedAt: string | null;
  derived: Record<string, unknown>;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  /** Optimistic-lock version: 1 at creation, +1 per later change (one per event after CREATED). */
  version: number;
  events: DemoTicketEvent[];
}

export type DemoEntityType = 'customer' | 'device' | 'purchase' | 'ticket';

export interface DemoSourceLink {
  system: string;
  stream: string;
  externalId: string;
  entityType: DemoEntityType;
  /** Natural key of the golden record: phone, serial, ticket number, or order number (with lineNo). */
  key: string;
  lineNo: number | null;
  version: string | null;
  seenAt: string;
}

export interface DemoDataIssue {
  kind: string;
  severity: 'INFO' | 'WARNING' | 'ERROR';
  state: 'OPEN';
  entityType: DemoEntityType;
  /** Natural key of the entity (phone / ticket number). */
  entityKey: string;
  fingerprint: string;
  message: string;
  evidence: Record<string, unknown>;
  firstSeen: string;
  lastSeen: string;
}

export interface DemoTicketCounter {
  /** YYYY-MM-DD */
  day: string;
  /** Highest demo ticket number used that day; new tickets continue after it. */
  last: number;
}

export interface DemoSamples {
  customerName: string;
  phoneE164: string;
  /** The first customer's phone written the ways people type it; all normalize to phoneE164. */
  phoneFormats: string[];
  serial: string;
  serialRaw: string;
  model: string;
  /** The first customer's closed February ticket. */
  ticketNumber: string;
  /** The first customer's ticket that is still open (same device, E1 alarm). */
  openTicketNumber: string;
  orderNumber: string;
}

export interface DemoDataset {
  seed: number;
  today: string;
  now: string;
  customers: DemoCustomer[];
  devices: DemoDevice[];
  telemetry: DemoTelemetry[];
  purchases: DemoPurchase[];
  spareParts: DemoSparePart[];
  tickets: DemoTicket[];
  sourceLinks: DemoSourceLink[];
  dataIssues: DemoDataIssue[];
  ticketCounters: DemoTicketCounter[];
  samples: DemoSamples;
}

// ---------------------------------------------------------------------------------------------
// Seeded PRNG and calendar helpers (no clock, no Math.random)

/** mulberry32: small, fast, good enough for demo data, identical on every platform. */
export class DemoRng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(this.next() * items.length)];
  }

  weighted<T>(items: readonly (readonly [T, number])[]): T {
    const total = items.reduce((s, [, w]) => s + w, 0);
    let r = this.next() * total;
    for (const [item, w] of items) {
      r -= w;
      if (r < 0) return item;
    }
    return items[items.length - 1][0];
  }

  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }

  digits(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += String(this.int(0, 9));
    return s;
  }

  chars(n: number, alphabet: string): string {
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[this.int(0, alphabet.length - 1)];
    return s;
  }
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Asia/Shanghai is UTC+8 all year (no DST). */
const CST = 8 * HOUR;

/** Midnight UTC of a YYYY-MM-DD date. */
function dayMs(day: string): number {
  const [y, m, d] = day.split('-').map(Number);
  return Date.UTC(y, m - 1, d);
}

function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Calendar date in China for an instant. */
function cstDay(ms: number): string {
  return utcDay(ms + CST);
}

/** Instant of hh:mm China time on a calendar date. */
function cstAt(day: string, hour: number, minute: number): number {
  return dayMs(day) + hour * HOUR + minute * MINUTE - CST;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function addDays(day: string, n: number): string {
  return utcDay(dayMs(day) + n * DAY);
}

/** Same calendar date n years later, minus one day (warranty end is inclusive). */
function warrantyEndFor(purchaseDate: string, years: number): string {
  const [y, m, d] = purchaseDate.split('-').map(Number);
  return utcDay(Date.UTC(y + years, m - 1, d) - DAY);
}

function daysBetween(fromDay: string, toDay: string): number {
  return Math.round((dayMs(toDay) - dayMs(fromDay)) / DAY);
}

/** Moves an instant outside 08:00–20:00 China time to the next 08:xx (people work in the day). */
function businessHours(ms: number, rng: DemoRng): number {
  const local = ms + CST;
  const hour = Math.floor((local % DAY) / HOUR);
  if (hour >= 8 && hour < 20) return ms;
  const day = cstDay(hour >= 20 ? ms + DAY : ms);
  return cstAt(day, 8, rng.int(5, 55));
}

function randomDay(rng: DemoRng, from: string, to: string): string {
  return addDays(from, rng.int(0, daysBetween(from, to)));
}

const NOW_MS = Date.parse(DEMO_NOW);

// ---------------------------------------------------------------------------------------------
// Catalogue

interface ModelDef {
  model: string;
  kind: DeviceKind;
  brand: string;
  /** What the product is, for purchase lines. */
  title: string;
  price: number;
  firmwares: string[];
  serialPrefix: string;
  warrantyYears: number;
  weight: number;
}

const MODELS: ModelDef[] = [
  { model: 'KFR-72LW/N8HR3', kind: 'AC', brand: '格力', title: '3匹 立柜式变频冷暖空调', price: 8999, firmwares: ['V2.3.1', 'V3.0.2', 'V3.1.0'], serialPrefix: 'GA72H', warrantyYears: 6, weight: 5 },
  { model: 'KFR-35GW/BpR3DN1', kind: 'AC', brand: '格力', title: '1.5匹 壁挂式变频空调', price: 3299, firmwares: ['V1.8.4', 'V2.0.1'], serialPrefix: 'GB35R', warrantyYears: 3, weight: 8 },
  { model: 'KFR-50LW/NhGa1BAj', kind: 'AC', brand: '格力', title: '2匹 立柜式变频空调', price: 6499, firmwares: ['V2.1.0', 'V2.2.3'], serialPrefix: 'GA50N', warrantyYears: 6, weight: 5 },
  { model: 'KFR-26GW/NhGc1B', kind: 'AC', brand: '格力', title: '1匹 壁挂式变频空调', price: 2599, firmwares: ['V1.6.2', 'V2.0.1'], serialPrefix: 'GB26N', warrantyYears: 3, weight: 5 },
  { model: 'KFR-35GW/N8MJA1', kind: 'AC', brand: '美的', title: '1.5匹 壁挂式新一级能效空调', price: 3099, firmwares: ['M5.1.0', 'M5.2.2'], serialPrefix: 'MD35J', warrantyYears: 3, weight: 6 },
  { model: 'KFR-72LW/N8MJA3', kind: 'AC', brand: '美的', title: '3匹 立柜式新一级能效空调', price: 7999, firmwares: ['M5.2.2', 'M6.0.1'], serialPrefix: 'MD72J', warrantyYears: 6, weight: 3 },
  { model: 'DSL-K20 Pro', kind: 'LOCK', brand: '德施曼', title: '3D人脸识别智能门锁', price: 2499, firmwares: ['LK-2.0.3', 'LK-2.1.0'], serialPrefix: 'DK20P', warrantyYears: 2, weight: 5 },
  { model: 'LK-S9', kind: 'LOCK', brand: '鹿客', title: '指纹智能门锁', price: 1599, firmwares: ['LK-1.8.2', 'LK-2.1.0'], serialPrefix: 'LKS09', warrantyYears: 2, weight: 4 },
  { model: 'DSL-K10', kind: 'LOCK', brand: '德施曼', title: '指纹密码智能门锁', price: 1299, firmwares: ['LK-1.6.0', 'LK-1.8.2'], serialPrefix: 'DK10S', warrantyYears: 2, weight: 3 },
];

function modelDef(model: string): ModelDef {
  const def = MODELS.find((m) => m.model === model);
  if (!def) throw new Error(`unknown demo model ${model}`);
  return def;
}

const GREE_AC = ['KFR-72LW/N8HR3', 'KFR-35GW/BpR3DN1', 'KFR-50LW/NhGa1BAj', 'KFR-26GW/NhGc1B'];
const any = (...models: string[]) => models.map((model) => ({ model, firmwarePrefix: '' }));

/** Spare parts (ERP materials) and the models they fit; some boards depend on the firmware line. */
const PARTS: { code: string; name: string; compatibility: { model: string; firmwarePrefix: string }[] }[] = [
  { code: 'GP-YSJ-72A', name: '压缩机', compatibility: any('KFR-72LW/N8HR3') },
  { code: 'GP-YSJ-50A', name: '压缩机', compatibility: any('KFR-50LW/NhGa1BAj') },
  { code: 'GP-YSJ-35A', name: '压缩机', compatibility: any('KFR-35GW/BpR3DN1', 'KFR-26GW/NhGc1B') },
  { code: 'GP-STF-01', name: '四通阀', compatibility: any(...GREE_AC) },
  { code: 'GP-WFJ-72', name: '室外风机电机', compatibility: any('KFR-72LW/N8HR3', 'KFR-50LW/NhGa1BAj') },
  { code: 'GP-WFJ-35', name: '室外风机电机', compatibility: any('KFR-35GW/BpR3DN1', 'KFR-26GW/NhGc1B') },
  { code: 'GP-NFJ-35', name: '室内风机电机', compatibility: any('KFR-35GW/BpR3DN1', 'KFR-26GW/NhGc1B') },
  { code: 'GP-ZB-72V2', name: '主板', compatibility: [{ model: 'KFR-72LW/N8HR3', firmwarePrefix: 'V2.' }] },
  { code: 'GP-ZB-72V3', name: '主板', compatibility: [{ model: 'KFR-72LW/N8HR3', firmwarePrefix: 'V3.' }] },
  { code: 'GP-ZB-35', name: '主板', compatibility: any('KFR-35GW/BpR3DN1', 'KFR-26GW/NhGc1B') },
  { code: 'GP-GWB-01', name: '室外排气感温包', compatibility: any(...GREE_AC) },
  { code: 'GP-PZF-01', name: '电子膨胀阀', compatibility: any('KFR-72LW/N8HR3', 'KFR-50LW/NhGa1BAj') },
  { code: 'MD-YSJ-72', name: '压缩机', compatibility: any('KFR-72LW/N8MJA3') },
  { code: 'MD-ZB-35M5', name: '主板', compatibility: [{ model: 'KFR-35GW/N8MJA1', firmwarePrefix: 'M5.' }] },
  { code: 'MD-STF-01', name: '四通阀', compatibility: any('KFR-35GW/N8MJA1', 'KFR-72LW/N8MJA3') },
  { code: 'LK-ST-K20', name: '锁体', compatibility: any('DSL-K20 Pro', 'DSL-K10') },
  { code: 'LK-ST-S9', name: '锁体', compatibility: any('LK-S9') },
  { code: 'LK-ZW-02', name: '指纹模组', compatibility: [{ model: 'DSL-K20 Pro', firmwarePrefix: 'LK-2.' }, { model: 'LK-S9', firmwarePrefix: 'LK-2.' }] },
  { code: 'LK-ZW-01', name: '指纹模组', compatibility: [{ model: 'DSL-K10', firmwarePrefix: '' }, { model: 'LK-S9', firmwarePrefix: 'LK-1.' }] },
  { code: 'LK-DC-01', name: '锂电池', compatibility: any('DSL-K20 Pro', 'LK-S9', 'DSL-K10') },
  { code: 'LK-ZKB-K20', name: '主控板', compatibility: any('DSL-K20 Pro') },
];

const NAMES = [
  '张伟', '李娜', '王芳', '刘洋', '陈静', '杨磊', '赵敏', '黄强', '周杰', '吴婷',
  '徐明', '孙丽', '胡军', '朱琳', '高翔', '林峰', '何雪', '郭涛', '马超', '罗丹',
  '梁晨', '宋佳', '郑浩', '谢娟', '韩冰', '唐宁', '冯雷', '于洋', '董洁', '萧然',
  '程刚', '曹颖', '袁野', '邓辉', '许晴', '傅强', '沈洁', '曾伟', '彭亮', '吕薇',
];

/** Index of the customer whose name the ERP spells differently (刘洋 in CRM, 刘阳 in ERP). */
const NAME_MISMATCH_INDEX = 3;
const ERP_NAME_VARIANT = '刘阳';

const REGIONS: [string, number][] = [['华东', 9], ['华北', 5], ['华南', 6], ['华中', 3], ['西南', 3], ['西北', 1], ['东北', 2]];
const TIERS: [Tier, number][] = [['VIP', 1], ['GOLD', 2], ['SILVER', 3], ['STANDARD', 4]];
const MOBILE_PREFIXES = ['130', '131', '132', '133', '135', '136', '137', '138', '139', '150', '151', '152', '153', '155', '156', '158', '159', '177', '180', '181', '185', '186', '187', '188', '189', '199'];

/** The ways phones are typed into CRMs and spreadsheets. All normalize to the same E.164. */
const PHONE_FORMATS: ((digits: string) => string)[] = [
  (d) => d,
  (d) => `${d.slice(0, 3)} ${d.slice(3, 7)} ${d.slice(7)}`,
  (d) => `+86-${d.slice(0, 3)}-${d.slice(3, 7)}-${d.slice(7)}`,
  (d) => `(0086)${d}`,
  (d) => toFullWidth(d),
  (d) => `+86 ${d}`,
  (d) => `0086-${d}`,
  (d) => `${d.slice(0, 3)}-${d.slice(3, 7)}-${d.slice(7)}`,
];

/** The ways serials arrive: lower case, spaced groups, full-width, padded. */
const SERIAL_FORMATS: ((s: string) => string)[] = [
  (s) => s,
  (s) => s.toLowerCase(),
  (s) => `${s.slice(0, 5)} ${s.slice(5, 9)} ${s.slice(9)}`,
  (s) => toFullWidth(s),
  (s) => ` ${s.toLowerCase()} `,
];

function toFullWidth(text: string): string {
  return text.replace(/[!-~]/g, (ch) => String.fromCharCode(ch.charCodeAt(0) + 0xfee0));
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const HEX = '0123456789abcdef';

/** Salesforce-style 18-character id with the object's key prefix (001 Account, 500 Case). */
function salesforceId(rng: DemoRng, keyPrefix: string): string {
  return `${keyPrefix}5g00000${rng.chars(8, BASE62)}`;
}

/** ThingsBoard device ids are time-based UUIDs. */
function thingsboardId(rng: DemoRng): string {
  return `${rng.chars(8, HEX)}-${rng.chars(4, HEX)}-11ef-${rng.pick(['8', '9', 'a', 'b'])}${rng.chars(3, HEX)}-${rng.chars(12, HEX)}`;
}

// Ticket catalogue -----------------------------------------------------------------------------

interface CategoryDef {
  kind: DeviceKind | null;
  path: [string, string, string];
  priority: TicketPriority;
  weight: number;
  /** Alarm the IoT platform raises for this fault, if any. */
  alert?: string;
  faults: string[];
  solutions: string[];
}

const P = TicketPriority;

const CATEGORIES: CategoryDef[] = [
  { kind: 'AC', path: ['空调', '制冷异常', '压缩机不启动'], priority: P.P1, weight: 3, faults: ['开机后外机压缩机不启动,室内机只吹自然风', '外机风扇转但压缩机不工作,完全不制冷'], solutions: ['压缩机启动电容失效,更换启动电容后运行正常', '压缩机线圈烧毁,更换压缩机后抽真空并加注冷媒'] },
  { kind: 'AC', path: ['空调', '制冷异常', '制冷效果差'], priority: P.P2, weight: 5, faults: ['制冷效果差,出风口温度偏高', '开了一小时室温只降了一度'], solutions: ['系统缺冷媒,检漏补焊后加注 R32 冷媒', '滤网和蒸发器严重脏堵,清洗后制冷恢复'] },
  { kind: 'AC', path: ['空调', '报错代码', 'E1高压保护'], priority: P.P1, weight: 3, alert: 'E1', faults: ['显示 E1,运行十几分钟后停机', '内机显示 E1 故障代码,反复停机'], solutions: ['外机冷凝器脏堵散热差,清洗冷凝器后恢复', '室外风机电容失效导致高压保护,更换风机电容'] },
  { kind: 'AC', path: ['空调', '报错代码', 'F4排气感温包故障'], priority: P.P2, weight: 2, alert: 'F4', faults: ['开机几分钟后显示 F4', '显示 F4,外机不工作'], solutions: ['室外排气感温包阻值异常,更换感温包', '感温包插头氧化接触不良,处理插头后恢复'] },
  { kind: 'AC', path: ['空调', '报错代码', 'P0驱动板保护'], priority: P.P1, weight: 2, alert: 'P0', faults: ['外机不工作,内机显示 P0', '运行中突然停机并显示 P0'], solutions: ['外机驱动板损坏,更换主板后试机正常'] },
  { kind: 'AC', path: ['空调', '噪音振动', '外机异响'], priority: P.P3, weight: 3, faults: ['外机运行时有咔咔异响', '外机振动大,楼下邻居投诉噪音'], solutions: ['室外风机电机轴承磨损,更换室外风机电机', '外机支架螺丝松动,紧固并加装减振垫'] },
  { kind: 'AC', path: ['空调', '漏水', '室内机漏水'], priority: P.P2, weight: 4, faults: ['室内机往下滴水,墙面已经湿了', '挂机出风口有水珠吹出'], solutions: ['排水管堵塞,疏通排水管并调整坡度', '室内机安装不水平,重新调整挂板'] },
  { kind: 'AC', path: ['空调', '制热异常', '不制热'], priority: P.P1, weight: 3, faults: ['制热模式一直吹冷风', '开制热半小时没有热风'], solutions: ['四通阀卡滞,更换四通阀', '电子膨胀阀故障,更换电子膨胀阀'] },
  { kind: 'AC', path: ['空调', '安装', '移机'], priority: P.P3, weight: 2, faults: ['搬家需要把空调移到新地址', '客厅柜机需要挪到主卧'], solutions: ['已完成移机,抽真空后试机正常'] },
  { kind: 'LOCK', path: ['智能锁', '识别异常', '指纹识别失败'], priority: P.P2, weight: 4, alert: 'L5', faults: ['指纹经常识别不了,要按好几次', '录入的指纹全部失效'], solutions: ['指纹模组老化,更换指纹模组并重新录入', '指纹头表面脏污,清洁后重新录入指纹'] },
  { kind: 'LOCK', path: ['智能锁', '机械故障', '锁舌不回弹'], priority: P.P1, weight: 2, faults: ['锁舌卡住不回弹,门关不上', '反锁后把手拧不动'], solutions: ['锁体内部弹簧断裂,更换锁体'] },
  { kind: 'LOCK', path: ['智能锁', '电源', '电量低无法开锁'], priority: P.P0, weight: 2, alert: 'L1', faults: ['电池没电,人被锁在门外', '提示电量低后完全无反应,无法进门'], solutions: ['使用 Type-C 应急供电开门,更换锂电池'] },
  { kind: 'LOCK', path: ['智能锁', '联网', 'App显示离线'], priority: P.P3, weight: 3, faults: ['App 里门锁一直显示离线', '远程开锁失败,App 提示设备离线'], solutions: ['更换路由器后未重新配网,重新配网并升级固件'] },
  { kind: 'LOCK', path: ['智能锁', '安全', '防撬报警'], priority: P.P0, weight: 1, alert: 'L3', faults: ['半夜防撬报警一直响', '门锁频繁误报防撬'], solutions: ['防撬开关松动,重新固定并校准', '现场检查无撬痕,更换防撬传感器'] },
  { kind: null, path: ['咨询', '产品咨询', '以旧换新'], priority: P.P3, weight: 1, faults: ['咨询空调以旧换新补贴政策'], solutions: ['已告知以旧换新政策并预约上门评估'] },
  { kind: null, path: ['咨询', '售后政策', '延保购买'], priority: P.P3, weight: 1, faults: ['咨询空调延保怎么购买'], solutions: ['已介绍延保方案并发送购买链接'] },
];

const AC_ALERTS = ['E1', 'E6', 'F4', 'P0', 'H6'];
const LOCK_ALERTS = ['L1', 'L3', 'L5'];

const DESK = [
  { id: 'desk.chenjing', name: '陈静' },
  { id: 'desk.liuting', name: '刘婷' },
  { id: 'desk.zhoumin', name: '周敏' },
];
const DISPATCH = [{ id: 'dispatch.zhaoli', name: '赵丽' }, { id: 'dispatch.sunhao', name: '孙浩' }];
const TECHS = [
  { id: 'tech.wanglei', name: '王磊' },
  { id: 'tech.liqiang', name: '李强' },
  { id: 'tech.zhangpeng', name: '张鹏' },
  { id: 'tech.liujun', name: '刘军' },
  { id: 'tech.chenhao', name: '陈浩' },
];
const CHANNELS = [
  { actor: 'app.customer', note: '客户通过 App 报修' },
  { actor: 'wechat.customer', note: '客户通过微信公众号报修' },
  { actor: 'desk', note: '客服热线 400 受理' },
] as const;

const BLOCKING_REASONS = ['等待备件到货(上海仓调拨)', '客户不在家,约定周末上门', '等待厂家技术支持确认方案'];
const PAID_REPAIR_REASON = '已过保,等待客户确认付费维修报价';
const CANCEL_NOTES = ['客户自行解决,取消报修', '重复报修,已合并到其他工单', '客户取消上门'];

/** Exact number of demo tickets per status (150 in all). */
export const DEMO_STATUS_COUNTS: Record<TicketStatus, number> = {
  NEW: 15,
  ASSIGNED: 15,
  IN_PROGRESS: 18,
  PENDING: 12,
  RESOLVED: 25,
  CLOSED: 55,
  CANCELLED: 10,
};

const S = TicketStatus;

/** Days before today a ticket in each status was opened: [min, max]. */
const AGE_DAYS: Record<TicketStatus, [number, number]> = {
  NEW: [0, 1],
  ASSIGNED: [0, 3],
  IN_PROGRESS: [1, 8],
  PENDING: [2, 15],
  RESOLVED: [1, 4],
  CLOSED: [6, 360],
  CANCELLED: [1, 300],
};

// ---------------------------------------------------------------------------------------------
// Generation

interface Ctx {
  rng: DemoRng;
  customers: DemoCustomer[];
  devices: DemoDevice[];
}

/** Builds the whole demo data set. Same seed → deep-equal result, whatever the clock says. */
export function generateDemoDataset(seed: number = DEMO_SEED): DemoDataset {
  const rng = new DemoRng(seed);
  const customers = generateCustomers(rng);
  const devices = generateDevices(rng, customers);
  const ctx: Ctx = { rng, customers, devices };
  const { tickets, openTicketNumber } = generateTickets(ctx);
  const telemetry = generateTelemetry(rng, devices, tickets);
  applyIotLineage(devices, telemetry);
  const purchases = generatePurchases(rng, customers, devices);
  const spareParts = generateSpareParts(rng);
  const mismatchTicket = tickets.find((t) => t.status === S.RESOLVED && t.deviceSerial !== null);
  if (!mismatchTicket) throw new Error('demo data set has no resolved ticket');
  const crmCaseId = salesforceId(rng, '500');
  const sourceLinks = generateSourceLinks(customers, devices, purchases, mismatchTicket, crmCaseId);
  const dataIssues = generateDataIssues(customers, mismatchTicket, crmCaseId);
  const ticketCounters = countersFor(tickets);

  const first = customers[0];
  const firstDevice = devices[0];
  const order = purchases.find((p) => p.deviceSerial === firstDevice.serial);
  if (!order) throw new Error('demo data set lost its first customer story');
  const digits = first.phone.slice(3);

  return {
    seed,
    today: DEMO_TODAY,
    now: DEMO_NOW,
    customers,
    devices,
    telemetry,
    purchases,
    spareParts,
    tickets,
    sourceLinks,
    dataIssues,
    ticketCounters,
    samples: {
      customerName: first.name,
      phoneE164: first.phone,
      phoneFormats: [0, 1, 2, 3, 4].map((i) => PHONE_FORMATS[i](digits)),
      serial: firstDevice.serial,
      serialRaw: firstDevice.rawSerial,
      model: firstDevice.model,
      ticketNumber: DEMO_FIRST_TICKET,
      openTicketNumber,
      orderNumber: order.orderNumber,
    },
  };
}

function businessInstant(rng: DemoRng, day: string): number {
  return cstAt(day, rng.int(9, 17), rng.int(0, 59));
}

function generateCustomers(rng: DemoRng): DemoCustomer[] {
  const seen = new Set<string>();
  return NAMES.map((name, i) => {
    let digits: string;
    let phone: string | null;
    if (i === 0) {
      digits = '13800138000';
      phone = normalizePhone(digits);
    } else {
      do {
        digits = rng.pick(MOBILE_PREFIXES) + rng.digits(8);
        phone = normalizePhone(digits);
      } while (!phone || seen.has(phone));
    }
    if (phone !== DEMO_FIRST_PHONE && i === 0) throw new Error('first demo phone does not normalize');
    const rawPhone = PHONE_FORMATS[i % PHONE_FORMATS.length](digits);
    if (!phone || normalizePhone(rawPhone) !== phone) throw new Error(`demo phone ${rawPhone} does not normalize`);
    seen.add(phone);
    const tier: Tier = i === 0 ? 'VIP' : rng.weighted(TIERS);
    const region = i === 0 ? '华东' : rng.weighted(REGIONS);
    const crmId = salesforceId(rng, '001');
    const erpId = `CUST${String(10001 + i)}`;
    const createdMs = i === 0 ? cstAt('2019-04-12', 10, 26) : businessInstant(rng, randomDay(rng, '2018-03-01', '2024-12-31'));
    const modMs = businessInstant(rng, randomDay(rng, '2026-06-01', '2026-11-19'));
    const at = iso(modMs);
    const src = { system: 'crm', stream: 'accounts', externalId: crmId, at };
    return {
      phone,
      rawPhone,
      name,
      tier,
      region,
      crmId,
      erpId,
      erpName: i === NAME_MISMATCH_INDEX ? ERP_NAME_VARIANT : name,
      createdAt: iso(createdMs),
      updatedAt: at,
      lineage: { phone: { ...src }, name: { ...src }, tier: { ...src }, region: { ...src } },
    };
  });
}

function makeSerial(rng: DemoRng, def: ModelDef, purchaseDate: string, seen: Set<string>): string {
  const yymm = purchaseDate.slice(2, 4) + purchaseDate.slice(5, 7);
  let serial: string;
  do serial = `${def.serialPrefix}${yymm}${rng.digits(6)}`;
  while (seen.has(serial));
  seen.add(serial);
  return serial;
}

const DEVICE_COUNT = 80;

function generateDevices(rng: DemoRng, customers: DemoCustomer[]): DemoDevice[] {
  // The first customer's three devices are fixed (README story); the other 77 are spread so
  // every customer owns at least one and a few own several.
  const plan: { owner: number; model: string; purchaseDate?: string; firmware?: string; warrantyYears?: number }[] = [
    { owner: 0, model: DEMO_FIRST_MODEL, purchaseDate: '2023-05-20', firmware: 'V3.1.0', warrantyYears: 6 },
    { owner: 0, model: 'KFR-35GW/BpR3DN1', purchaseDate: '2020-07-08', firmware: 'V1.8.4', warrantyYears: 3 },
    { owner: 0, model: 'DSL-K20 Pro', purchaseDate: '2025-09-16', firmware: 'LK-2.1.0', warrantyYears: 2 },
  ];
  const owners: number[] = [];
  for (let i = 1; i < customers.length; i++) owners.push(i);
  while (plan.length + owners.length < DEVICE_COUNT) owners.push(rng.int(1, customers.length - 1));
  owners.sort((a, b) => a - b);
  const weights = MODELS.map((m) => [m.model, m.weight] as const);
  for (const owner of owners) plan.push({ owner, model: rng.weighted(weights) });

  const seen = new Set<string>();
  return plan.map((p, i) => {
    const def = modelDef(p.model);
    const owner = customers[p.owner];
    const earliest = owner.createdAt.slice(0, 10) > '2019-01-01' ? owner.createdAt.slice(0, 10) : '2019-01-01';
    const purchaseDate = p.purchaseDate ?? randomDay(rng, earliest, '2026-10-31');
    // VIP and some GOLD customers bought the extended warranty (+2 years).
    const extended = owner.tier === 'VIP' || (owner.tier === 'GOLD' && rng.chance(0.5));
    const years = p.warrantyYears ?? def.warrantyYears + (extended ? 2 : 0);
    const firmware = p.firmware ?? (purchaseDate >= '2024-06-01' ? def.firmwares[def.firmwares.length - 1] : rng.pick(def.firmwares));
    const serial = makeSerial(rng, def, purchaseDate, seen);
    const rawSerial = SERIAL_FORMATS[i % SERIAL_FORMATS.length](serial);
    if (normalizeSerial(rawSerial) !== serial) throw new Error(`demo serial ${rawSerial} does not normalize`);
    const erpId = String(230001 + i);
    // About one device in eight never connected to the IoT platform (no telemetry).
    const iotId = i < 3 || !rng.chance(0.125) ? thingsboardId(rng) : null;
    const createdMs = businessInstant(rng, purchaseDate);
    const at = iso(createdMs);
    const src = { system: 'erp', stream: 'serials', externalId: erpId, at };
    return {
      serial,
      rawSerial,
      kind: def.kind,
      brand: def.brand,
      model: def.model,
      firmware,
      purchaseDate,
      warrantyEnd: warrantyEndFor(purchaseDate, years),
      ownerPhone: owner.phone,
      erpId,
      iotId,
      createdAt: at,
      updatedAt: at,
      lineage: {
        serial: { ...src },
        model: { ...src },
        firmware: { ...src },
        purchaseDate: { ...src },
        warrantyEnd: { ...src },
        owner: { ...src },
      },
    };
  });
}

interface StatusStep {
  to: TicketStatus;
  at: number;
  actor: string;
  note: string | null;
  changes: Record<string, { before: unknown; after: unknown }>;
}

/** A status path and its timings, starting at `created`. */
function buildSteps(
  rng: DemoRng,
  status: TicketStatus,
  created: number,
  opts: { solution: string; blockingReason: string; pendingDetour: boolean },
): StatusStep[] {
  const dispatcher = rng.pick(DISPATCH);
  const tech = rng.pick(TECHS);
  const steps: StatusStep[] = [];
  let t = created;
  const push = (to: TicketStatus, gapMin: number, gapMax: number, actor: string, note: string | null, extra: StatusStep['changes'] = {}) => {
    t = businessHours(t + rng.int(gapMin, gapMax) * MINUTE, rng);
    const from = steps.length ? steps[steps.length - 1].to : S.NEW;
    steps.push({ to, at: t, actor, note, changes: { status: { before: from, after: to }, ...extra } });
  };
  const assign = () => push(S.ASSIGNED, 5, 90, dispatcher.id, `派单给工程师 ${tech.name}`);
  const start = () => push(S.IN_PROGRESS, 60, 26 * 60, tech.id, `${tech.name} 已上门检测`);
  const pend = () =>
    push(S.PENDING, 30, 240, tech.id, opts.blockingReason, { blockingReason: { before: null, after: opts.blockingReason } });
  const resume = () =>
    push(S.IN_PROGRESS, 24 * 60, 5 * 24 * 60, tech.id, '阻塞已解除,继续处理', { blockingReason: { before: opts.blockingReason, after: null } });
  const resolve = () => {
    const next = businessHours(t + rng.int(30, 360) * MINUTE, rng);
    t = next;
    const from = steps[steps.length - 1].to;
    steps.push({
      to: S.RESOLVED,
      at: next,
      actor: tech.id,
      note: opts.solution,
      changes: { status: { before: from, after: S.RESOLVED }, solution: { before: null, after: opts.solution }, resolvedAt: { before: null, after: iso(next) } },
    });
  };
  const close = () => {
    const next = businessHours(t + rng.int(24 * 60, 3 * 24 * 60) * MINUTE, rng);
    t = next;
    const byCustomer = rng.chance(0.6);
    steps.push({
      to: S.CLOSED,
      at: next,
      actor: byCustomer ? 'app.customer' : rng.pick(DESK).id,
      note: byCustomer ? '客户确认已修复' : '电话回访满意,结单',
      changes: { status: { before: S.RESOLVED, after: S.CLOSED }, closedAt: { before: null, after: iso(next) } },
    });
  };
  const cancel = () => {
    const fromPending = steps.length > 0 && steps[steps.length - 1].to === S.PENDING;
    const actor = rng.chance(0.5) ? 'app.customer' : rng.pick(DESK).id;
    const note = fromPending ? '客户不接受维修报价,取消工单' : rng.pick(CANCEL_NOTES);
    push(S.CANCELLED, 10, 2 * 24 * 60, actor, note, fromPending ? { blockingReason: { before: opts.blockingReason, after: null } } : {});
  };

  switch (status) {
    case S.NEW:
      break;
    case S.ASSIGNED:
      assign();
      break;
    case S.IN_PROGRESS:
      assign();
      start();
      if (opts.pendingDetour) {
        pend();
        resume();
      }
      break;
    case S.PENDING:
      assign();
      start();
      pend();
      break;
    case S.RESOLVED:
    case S.CLOSED:
      assign();
      start();
      if (opts.pendingDetour) {
        pend();
        resume();
      }
      resolve();
      if (status === S.CLOSED) close();
      break;
    case S.CANCELLED: {
      const r = rng.next();
      if (r < 0.5) cancel();
      else if (r < 0.8) {
        assign();
        cancel();
      } else {
        assign();
        start();
        pend();
        cancel();
      }
      break;
    }
  }
  return steps;
}

interface TicketDraft {
  status: TicketStatus;
  customer: DemoCustomer;
  device: DemoDevice | null;
  category: CategoryDef;
  priority: TicketPriority;
  fault: string;
  solution: string;
  blockingReason: string;
  creator: { actor: string; note: string };
  created: number;
  steps: StatusStep[];
  eta: number | null;
  fixedNumber?: string;
}

function categoryFor(rng: DemoRng, kind: DeviceKind | null): CategoryDef {
  return rng.weighted(CATEGORIES.filter((c) => c.kind === kind).map((c) => [c, c.weight] as const));
}

function creatorFor(rng: DemoRng): { actor: string; note: string } {
  const ch = rng.pick(CHANNELS);
  if (ch.actor === 'desk') {
    const agent = rng.pick(DESK);
    return { actor: agent.id, note: `${ch.note}(${agent.name})` };
  }
  return { actor: ch.actor, note: ch.note };
}

function inWarranty(device: DemoDevice | null, day: string): boolean | null {
  return device ? day <= device.warrantyEnd : null;
}

function generateTickets(ctx: Ctx): { tickets: DemoTicket[]; openTicketNumber: string } {
  const { rng, customers, devices } = ctx;
  const first = customers[0];
  const firstDevice = devices[0];
  const compressor = CATEGORIES.find((c) => c.path[2] === '压缩机不启动')!;
  const e1 = CATEGORIES.find((c) => c.path[2] === 'E1高压保护')!;
  const drafts: TicketDraft[] = [];

  // 1. The README ticket: February, compressor would not start, fixed and closed.
  {
    const created = cstAt('2026-02-18', 9, 12);
    const tech = TECHS[0];
    const solution = compressor.solutions[0];
    const at = (day: string, h: number, m: number) => cstAt(day, h, m);
    drafts.push({
      status: S.CLOSED,
      customer: first,
      device: firstDevice,
      category: compressor,
      priority: P.P1,
      fault: '开机后外机压缩机不启动,制热没有热风',
      solution,
      blockingReason: '',
      creator: { actor: DESK[0].id, note: `客服热线 400 受理(${DESK[0].name})` },
      created,
      eta: null,
      fixedNumber: DEMO_FIRST_TICKET,
      steps: [
        { to: S.ASSIGNED, at: at('2026-02-18', 9, 40), actor: DISPATCH[0].id, note: `派单给工程师 ${tech.name}`, changes: { status: { before: S.NEW, after: S.ASSIGNED } } },
        { to: S.IN_PROGRESS, at: at('2026-02-18', 14, 5), actor: tech.id, note: `${tech.name} 已上门检测`, changes: { status: { before: S.ASSIGNED, after: S.IN_PROGRESS } } },
        {
          to: S.RESOLVED,
          at: at('2026-02-18', 16, 30),
          actor: tech.id,
          note: solution,
          changes: {
            status: { before: S.IN_PROGRESS, after: S.RESOLVED },
            solution: { before: null, after: solution },
            resolvedAt: { before: null, after: iso(at('2026-02-18', 16, 30)) },
          },
        },
        {
          to: S.CLOSED,
          at: at('2026-02-20', 10, 15),
          actor: 'app.customer',
          note: '客户确认已修复',
          changes: { status: { before: S.RESOLVED, after: S.CLOSED }, closedAt: { before: null, after: iso(at('2026-02-20', 10, 15)) } },
        },
      ],
    });
  }
  // 2. Same device, this week: E1 high-pressure alarm, engineer on it (IoT shows the E1 alert).
  {
    const created = cstAt('2026-11-18', 10, 20);
    const tech = TECHS[0];
    drafts.push({
      status: S.IN_PROGRESS,
      customer: first,
      device: firstDevice,
      category: e1,
      priority: P.P1,
      fault: '内机显示 E1 故障代码,运行十几分钟后停机',
      solution: '',
      blockingReason: '',
      creator: { actor: 'app.customer', note: '客户通过 App 报修' },
      created,
      eta: cstAt('2026-11-20', 15, 0),
      steps: [
        { to: S.ASSIGNED, at: cstAt('2026-11-18', 10, 45), actor: DISPATCH[1].id, note: `派单给工程师 ${tech.name}`, changes: { status: { before: S.NEW, after: S.ASSIGNED } } },
        {
          to: S.IN_PROGRESS,
          at: cstAt('2026-11-19', 14, 0),
          actor: tech.id,
          note: `${tech.name} 已上门检测,外机冷凝器脏堵,预约明天清洗`,
          changes: { status: { before: S.ASSIGNED, after: S.IN_PROGRESS }, eta: { before: null, after: iso(cstAt('2026-11-20', 15, 0)) } },
        },
      ],
    });
  }

  const pool: TicketStatus[] = [];
  for (const s of Object.values(TicketStatus)) {
    const already = drafts.filter((d) => d.status === s).length;
    for (let i = already; i < DEMO_STATUS_COUNTS[s]; i++) pool.push(s);
  }
  for (const status of rng.shuffle(pool)) drafts.push(draftTicket(rng, status, customers, devices));

  const numbers = numberTickets(rng, drafts);
  const tickets = drafts
    .map((d) => toTicket(d, numbers.get(d)!))
    .sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.number < b.number ? -1 : 1));
  return { tickets, openTicketNumber: numbers.get(drafts[1])! };
}

function draftTicket(rng: DemoRng, status: TicketStatus, customers: DemoCustomer[], devices: DemoDevice[]): TicketDraft {
  for (let attempt = 0; attempt < 200; attempt++) {
    const withDevice = rng.chance(0.95);
    const device = withDevice ? rng.pick(devices) : null;
    const customer = device ? customers.find((c) => c.phone === device.ownerPhone)! : rng.pick(customers);
    const [minAge, maxAge] = AGE_DAYS[status];
    const day = addDays(DEMO_TODAY, -rng.int(minAge, maxAge));
    const category = categoryFor(rng, device ? device.kind : null);
    // VIP and GOLD customers get routine faults one level up.
    const vipBump = (customer.tier === 'VIP' || customer.tier === 'GOLD') && (category.priority === P.P2 || category.priority === P.P3) && rng.chance(0.5);
    const priority = vipBump ? (`P${Number(category.priority.slice(1)) - 1}` as TicketPriority) : category.priority;
    const fault = rng.pick(category.faults);
    const solution = rng.pick(category.solutions);
    const warranty = inWarranty(device, day);
    const blockingReason = warranty === false && rng.chance(0.6) ? PAID_REPAIR_REASON : rng.pick(BLOCKING_REASONS);
    const creator = creatorFor(rng);
    const pendingDetour = rng.chance(0.25);
    let created = businessInstant(rng, day);
    let steps = buildSteps(rng, status, created, { solution, blockingReason, pendingDetour });
    // Keep the whole history in the past: move the ticket a day earlier until it fits.
    const last = () => (steps.length ? steps[steps.length - 1].at : created);
    while (last() > NOW_MS) {
      created -= DAY;
      steps = steps.map((s) => ({ ...s, at: s.at - DAY, changes: shiftChangeTimes(s.changes) }));
    }
    // A ticket cannot predate the purchase of its device or the customer account.
    const notBefore = device ? addDays(device.purchaseDate, 3) : customer.createdAt.slice(0, 10);
    if (cstDay(created) < notBefore) continue;
    // Open tickets carry an ETA (engineer visit, or part arrival when PENDING), set by the step
    // that scheduled it.
    let eta: number | null = null;
    if (status === S.PENDING) eta = cstAt(addDays(DEMO_TODAY, rng.int(1, 5)), rng.int(9, 17), 0);
    else if (status === S.ASSIGNED || status === S.IN_PROGRESS) eta = cstAt(addDays(DEMO_TODAY, rng.int(0, 2)), rng.pick([10, 14, 16]), 0);
    if (eta !== null) {
      const target = status === S.PENDING ? steps[steps.length - 1] : steps.find((st) => st.to === S.ASSIGNED)!;
      target.changes = { ...target.changes, eta: { before: null, after: iso(eta) } };
    }
    return { status, customer, device, category, priority, fault, solution, blockingReason, creator, created, steps, eta };
  }
  throw new Error(`could not place a demo ${status} ticket`);
}

/** Timestamps recorded inside change sets move with the step they belong to. */
function shiftChangeTimes(changes: StatusStep['changes']): StatusStep['changes'] {
  const out: StatusStep['changes'] = {};
  for (const [field, change] of Object.entries(changes)) {
    out[field] =
      (field === 'resolvedAt' || field === 'closedAt') && typeof change.after === 'string'
        ? { before: change.before, after: iso(Date.parse(change.after) - DAY) }
        : change;
  }
  return out;
}

/**
 * T<yyyymmdd>-<nnnn> per day in creation order from a per-day starting number. The day is the UTC
 * date, as TicketService counts it; demo tickets open 09:00–18:00 China time (01:00–10:00 UTC),
 * so the UTC and China dates agree.
 */
function numberTickets(rng: DemoRng, drafts: TicketDraft[]): Map<TicketDraft, string> {
  const byDay = new Map<string, TicketDraft[]>();
  for (const d of drafts) {
    const day = utcDay(d.created);
    if (day !== cstDay(d.created)) throw new Error(`demo ticket opened at ${iso(d.created)} straddles the date line`);
    const list = byDay.get(day) ?? [];
    list.push(d);
    byDay.set(day, list);
  }
  const numbers = new Map<TicketDraft, string>();
  for (const day of [...byDay.keys()].sort()) {
    const list = byDay.get(day)!.sort((a, b) => a.created - b.created);
    const compact = day.replace(/-/g, '');
    const fixedIdx = list.findIndex((d) => d.fixedNumber);
    let base: number;
    if (fixedIdx >= 0) {
      const fixed = list[fixedIdx].fixedNumber!;
      if (!fixed.startsWith(`T${compact}-`)) throw new Error(`${fixed} is not on ${day}`);
      base = Number(fixed.slice(10)) - fixedIdx;
    } else {
      base = rng.int(1, 9000);
    }
    list.forEach((d, i) => numbers.set(d, `T${compact}-${String(base + i).padStart(4, '0')}`));
  }
  return numbers;
}

function toTicket(d: TicketDraft, number: string): DemoTicket {
  const createdDay = cstDay(d.created);
  const sla = slaDeadlines(d.priority, new Date(d.created));
  const slaResponseDue = sla.responseDue.toISOString();
  const slaResolveDue = sla.resolveDue.toISOString();
  const [l1, l2, l3] = d.category.path;
  // Same shape as TicketService writes: every tracked field that the new ticket sets.
  const events: DemoTicketEvent[] = [
    {
      seq: 1,
      type: TicketEventType.CREATED,
      fromStatus: null,
      toStatus: S.NEW,
      changes: {
        fault: { before: null, after: d.fault },
        priority: { before: null, after: d.priority },
        categoryL1: { before: null, after: l1 },
        categoryL2: { before: null, after: l2 },
        categoryL3: { before: null, after: l3 },
        status: { before: null, after: S.NEW },
        slaResponseDue: { before: null, after: slaResponseDue },
        slaResolveDue: { before: null, after: slaResolveDue },
      },
      note: d.creator.note,
      actor: d.creator.actor,
      origin: DEMO_ORIGIN,
      at: iso(d.created),
    },
  ];
  let from: TicketStatus = S.NEW;
  for (const step of d.steps) {
    events.push({
      seq: events.length + 1,
      type: TicketEventType.STATUS_CHANGED,
      fromStatus: from,
      toStatus: step.to,
      changes: step.changes,
      note: step.note,
      actor: step.actor,
      origin: DEMO_ORIGIN,
      at: iso(step.at),
    });
    from = step.to;
  }
  if (from !== d.status) throw new Error(`ticket ${number} history ends in ${from}, not ${d.status}`);
  const resolved = d.steps.find((s) => s.to === S.RESOLVED);
  const closed = d.steps.find((s) => s.to === S.CLOSED);
  const hasSolution = d.status === S.RESOLVED || d.status === S.CLOSED;
  const device = d.device;
  return {
    number,
    customerPhone: d.customer.phone,
    deviceSerial: device ? device.serial : null,
    category: [...d.category.path],
    priority: d.priority,
    status: d.status,
    fault: d.fault,
    solution: hasSolution ? d.solution : null,
    blockingReason: d.status === S.PENDING ? d.blockingReason : null,
    eta: d.eta === null ? null : iso(d.eta),
    slaResponseDue,
    slaResolveDue,
    resolvedAt: resolved ? iso(resolved.at) : null,
    closedAt: closed ? iso(closed.at) : null,
    derived: {
      customerTier: d.customer.tier,
      ...(device
        ? {
            deviceModel: device.model,
            deviceAgeDays: daysBetween(device.purchaseDate, createdDay),
            inWarranty: inWarranty(device, createdDay),
            // What the caller was told at creation (see TOLD in src/enrichment/enricher.ts).
            told: { warrantyEnd: device.warrantyEnd },
          }
        : {}),
    },
    createdBy: d.creator.actor,
    createdAt: iso(d.created),
    updatedAt: events[events.length - 1].at,
    version: events.length,
    events,
  };
}

function countersFor(tickets: DemoTicket[]): DemoTicketCounter[] {
  const max = new Map<string, number>();
  for (const t of tickets) {
    const m = /^T(\d{4})(\d{2})(\d{2})-(\d+)$/.exec(t.number)!;
    const day = `${m[1]}-${m[2]}-${m[3]}`;
    max.set(day, Math.max(max.get(day) ?? 0, Number(m[4])));
  }
  return [...max.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([day, last]) => ({ day, last }));
}

function generateTelemetry(rng: DemoRng, devices: DemoDevice[], tickets: DemoTicket[]): DemoTelemetry[] {
  // Open tickets for faults the IoT platform detects show up as active alerts.
  const activeAlerts = new Map<string, Set<string>>();
  for (const t of tickets) {
    if (!t.deviceSerial || t.status === S.RESOLVED || t.status === S.CLOSED || t.status === S.CANCELLED) continue;
    const cat = CATEGORIES.find((c) => c.path.join('/') === t.category.join('/'));
    if (!cat?.alert) continue;
    const set = activeAlerts.get(t.deviceSerial) ?? new Set<string>();
    set.add(cat.alert);
    activeAlerts.set(t.deviceSerial, set);
  }
  const out: DemoTelemetry[] = [];
  devices.forEach((d, i) => {
    if (!d.iotId) return;
    const online = i === 0 ? true : rng.chance(d.kind === 'AC' ? 0.8 : 0.85);
    const lastSeen = online ? NOW_MS - rng.int(0, 15) * MINUTE - rng.int(0, 59) * 1000 : NOW_MS - rng.int(1, 40) * DAY - rng.int(0, 23) * HOUR;
    const ageDays = Math.max(1, daysBetween(d.purchaseDate, cstDay(lastSeen)));
    const runCount = ageDays * (d.kind === 'AC' ? rng.int(3, 9) : rng.int(4, 12));
    const alerts = new Set(activeAlerts.get(d.serial) ?? []);
    if (i !== 0 && rng.chance(0.08)) alerts.add(rng.pick(d.kind === 'AC' ? AC_ALERTS : LOCK_ALERTS));
    const updatedAt = iso(NOW_MS - rng.int(1, 10) * MINUTE);
    const src = { system: 'iot', stream: 'devices', externalId: d.iotId, at: updatedAt };
    out.push({
      serial: d.serial,
      online,
      lastSeenAt: iso(lastSeen),
      runCount,
      alerts: [...alerts].sort(),
      updatedAt,
      lineage: { online: { ...src }, lastSeenAt: { ...src }, runCount: { ...src }, alerts: { ...src } },
    });
  });
  return out;
}

/** Connected devices report their firmware: IoT wins for that field (fresher than the ERP). */
function applyIotLineage(devices: DemoDevice[], telemetry: DemoTelemetry[]): void {
  const bySerial = new Map(telemetry.map((t) => [t.serial, t]));
  for (const d of devices) {
    const t = bySerial.get(d.serial);
    if (!t || !d.iotId) continue;
    d.lineage.firmware = { system: 'iot', stream: 'devices', externalId: d.iotId, at: t.updatedAt };
    d.updatedAt = t.updatedAt;
  }
}

function generatePurchases(rng: DemoRng, customers: DemoCustomer[], devices: DemoDevice[]): DemoPurchase[] {
  // One sales order per customer and purchase day; one line per device, numbered in the order.
  const groups = new Map<string, DemoDevice[]>();
  for (const d of devices) {
    const key = `${d.purchaseDate}|${d.ownerPhone}`;
    const list = groups.get(key) ?? [];
    list.push(d);
    groups.set(key, list);
  }
  const keys = [...groups.keys()].sort();
  const out: DemoPurchase[] = [];
  keys.forEach((key, orderIdx) => {
    const orderNumber = `XSDD${String(101 + orderIdx).padStart(6, '0')}`;
    const list = groups.get(key)!;
    const customer = customers.find((c) => c.phone === list[0].ownerPhone)!;
    const orderedMs = Date.parse(list[0].createdAt) - rng.int(20, 180) * MINUTE;
    const at = iso(orderedMs);
    list.forEach((d, lineIdx) => {
      const def = modelDef(d.model);
      const discount = rng.pick([1, 1, 0.95, 0.9, 0.88]);
      const amount = Math.max(99, Math.round((def.price * discount) / 10) * 10 - 1);
      const externalId = `${orderNumber}-${lineIdx + 1}`;
      const src = { system: 'erp', stream: 'sales_orders', externalId, at };
      out.push({
        orderNumber,
        lineNo: lineIdx + 1,
        customerPhone: customer.phone,
        deviceSerial: d.serial,
        model: d.model,
        quantity: 1,
        amount: amount.toFixed(2),
        currency: 'CNY',
        orderedAt: d.purchaseDate,
        createdAt: at,
        lineage: {
          customer: { ...src },
          device: { ...src },
          model: { ...src },
          quantity: { ...src },
          amount: { ...src },
          orderedAt: { ...src },
        },
      });
    });
  });
  return out;
}

function generateSpareParts(rng: DemoRng): DemoSparePart[] {
  const createdAt = iso(cstAt('2024-01-08', 9, 30));
  const stockUpdatedAt = iso(NOW_MS - 2 * HOUR);
  return PARTS.map((p) => {
    const warehouses = rng.chance(0.5) ? [...DEMO_WAREHOUSES] : DEMO_WAREHOUSES.slice(0, 2);
    return {
      code: p.code,
      name: p.name,
      compatibility: p.compatibility.map((c) => ({ ...c })),
      stock: warehouses.map((warehouse) => ({ warehouse, quantity: rng.chance(0.15) ? 0 : rng.int(1, 40) })),
      createdAt,
      stockUpdatedAt,
    };
  });
}

function generateSourceLinks(
  customers: DemoCustomer[],
  devices: DemoDevice[],
  purchases: DemoPurchase[],
  mismatchTicket: DemoTicket,
  crmCaseId: string,
): DemoSourceLink[] {
  const links: DemoSourceLink[] = [];
  for (const c of customers) {
    links.push({ system: 'crm', stream: 'accounts', externalId: c.crmId, entityType: 'customer', key: c.phone, lineNo: null, version: c.updatedAt, seenAt: c.updatedAt });
    links.push({ system: 'erp', stream: 'customers', externalId: c.erpId, entityType: 'customer', key: c.phone, lineNo: null, version: c.createdAt, seenAt: c.updatedAt });
  }
  for (const d of devices) {
    links.push({ system: 'erp', stream: 'serials', externalId: d.erpId, entityType: 'device', key: d.serial, lineNo: null, version: d.createdAt, seenAt: d.createdAt });
    // The IoT platform's device id identifies the device; telemetry is keyed by that device.
    if (d.iotId) {
      links.push({ system: 'iot', stream: 'devices', externalId: d.iotId, entityType: 'device', key: d.serial, lineNo: null, version: null, seenAt: d.updatedAt });
    }
  }
  for (const p of purchases) {
    links.push({ system: 'erp', stream: 'sales_orders', externalId: `${p.orderNumber}-${p.lineNo}`, entityType: 'purchase', key: p.orderNumber, lineNo: p.lineNo, version: p.createdAt, seenAt: p.createdAt });
  }
  // The CRM case mirroring one resolved ticket (its status disagrees: see the data issues).
  links.push({ system: 'crm', stream: 'cases', externalId: crmCaseId, entityType: 'ticket', key: mismatchTicket.number, lineNo: null, version: mismatchTicket.createdAt, seenAt: mismatchTicket.updatedAt });
  return links;
}

function generateDataIssues(customers: DemoCustomer[], mismatchTicket: DemoTicket, crmCaseId: string): DemoDataIssue[] {
  const c = customers[NAME_MISMATCH_INDEX];
  const seen = iso(NOW_MS - 3 * HOUR);
  return [
    {
      kind: 'NAME_MISMATCH',
      severity: 'WARNING',
      state: 'OPEN',
      entityType: 'customer',
      entityKey: c.phone,
      fingerprint: `NAME_MISMATCH:customer:${c.phone}`,
      message: `Customer name differs between CRM ("${c.name}") and ERP ("${c.erpName}"); the CRM value is kept by survivorship`,
      evidence: {
        field: 'name',
        survivor: 'crm',
        values: [
          { system: 'crm', stream: 'accounts', externalId: c.crmId, value: c.name, at: c.updatedAt },
          { system: 'erp', stream: 'customers', externalId: c.erpId, value: c.erpName, at: c.createdAt },
        ],
      },
      firstSeen: iso(NOW_MS - 6 * DAY),
      lastSeen: seen,
    },
    {
      kind: 'STATUS_MISMATCH',
      severity: 'WARNING',
      state: 'OPEN',
      entityType: 'ticket',
      entityKey: mismatchTicket.number,
      fingerprint: `STATUS_MISMATCH:ticket:${mismatchTicket.number}`,
      message: `Ticket ${mismatchTicket.number} is RESOLVED in Junction but its CRM case is still open`,
      evidence: {
        field: 'status',
        values: [
          { system: 'junction', value: mismatchTicket.status, at: mismatchTicket.resolvedAt },
          { system: 'crm', stream: 'cases', externalId: crmCaseId, value: 'Working', at: mismatchTicket.createdAt },
        ],
      },
      firstSeen: mismatchTicket.resolvedAt ?? seen,
      lastSeen: seen,
    },
  ];
}
