/** Vocabulary of the seeded data: product models, spare parts, names, faults. Deterministic. */

export interface ModelFamily {
  prefix: string;
  category: string;
  price: number;
  partTypes: string[];
}

const AC_PARTS = ['压缩机', '室外风机电机', '室内风机电机', '主控板', '显示板', '四通阀', '电子膨胀阀', '温度传感器', '过滤网', '遥控器'];
const WASHER_PARTS = ['排水泵', '门封条', '门锁开关', '驱动电机', '电脑板', '进水阀', '减震器'];
const FRIDGE_PARTS = ['压缩机', '温控器', '门封条', '风扇电机', '化霜加热管', '主控板'];
const HEATER_PARTS = ['加热管', '镁棒', '温控器', '电脑板', '安全阀'];

export const FAMILIES: ModelFamily[] = [
  { prefix: 'KFR-26GW/', category: '空调', price: 2699, partTypes: AC_PARTS },
  { prefix: 'KFR-35GW/', category: '空调', price: 3299, partTypes: AC_PARTS },
  { prefix: 'KFR-50GW/', category: '空调', price: 4599, partTypes: AC_PARTS },
  { prefix: 'KFR-50LW/', category: '空调', price: 6299, partTypes: AC_PARTS },
  { prefix: 'KFR-72LW/', category: '空调', price: 8499, partTypes: AC_PARTS },
  { prefix: 'XQG80-', category: '洗衣机', price: 2499, partTypes: WASHER_PARTS },
  { prefix: 'XQG100-', category: '洗衣机', price: 3699, partTypes: WASHER_PARTS },
  { prefix: 'BCD-470W', category: '冰箱', price: 4299, partTypes: FRIDGE_PARTS },
  { prefix: 'BCD-500W', category: '冰箱', price: 5999, partTypes: FRIDGE_PARTS },
  { prefix: 'BCD-610W', category: '冰箱', price: 7299, partTypes: FRIDGE_PARTS },
  { prefix: 'JSQ25-13', category: '热水器', price: 1899, partTypes: HEATER_PARTS },
  { prefix: 'JSQ30-16', category: '热水器', price: 2699, partTypes: HEATER_PARTS },
];

const SUFFIXES = ['N8HR3', 'NhGd1BAj', 'NhAa1BAj', 'N8XB1', 'NhDaA1', 'N7HR2', 'NhBbB3', 'N9XC2', 'NhFa1BG', 'N8ZD3'];

export const MODELS_PER_FAMILY = SUFFIXES.length;

/** 120 models: family f's models are indexes f*10 .. f*10+9. */
export const MODELS: { name: string; family: number; price: number }[] = FAMILIES.flatMap((f, fi) =>
  SUFFIXES.map((s, si) => ({ name: `${f.prefix}${s}`, family: fi, price: f.price + (si - 4) * 100 })),
);

export const WAREHOUSES = ['WH-SHANGHAI', 'WH-GUANGZHOU', 'WH-CHENGDU'];

export interface PartRow {
  id: number;
  code: string;
  name: string;
  /** [model, firmware prefix ('' = any)] */
  fits: [string, string][];
  stock: number[];
}

/** Small deterministic integer hash (splitmix-like) for the catalog built in TypeScript. */
function h(n: number, salt: number): number {
  let x = (n * 0x9e3779b1 + salt * 0x85ebca6b) >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  x ^= x >>> 16;
  return x >>> 0;
}

/**
 * ~500 spare parts: 480 fit one model (35% also a sibling model of the same family, some only
 * for firmware V2.x); 20 universal parts fit every model of a family. Stock in 3 warehouses,
 * some of it zero.
 */
export function buildParts(seed: number): PartRow[] {
  const parts: PartRow[] = [];
  for (let n = 1; n <= 500; n++) {
    const fits: [string, string][] = [];
    let family: ModelFamily;
    if (n <= 480) {
      const mi = (n * 37) % MODELS.length;
      const model = MODELS[mi];
      family = FAMILIES[model.family];
      fits.push([model.name, h(n, seed + 1) % 5 === 0 ? 'V2.' : '']);
      if (h(n, seed + 2) % 100 < 35) {
        const sibling = MODELS[model.family * MODELS_PER_FAMILY + ((mi % MODELS_PER_FAMILY) + 1 + (h(n, seed + 3) % 9)) % MODELS_PER_FAMILY];
        fits.push([sibling.name, '']);
      }
    } else {
      const fi = n % FAMILIES.length;
      family = FAMILIES[fi];
      for (let s = 0; s < MODELS_PER_FAMILY; s++) fits.push([MODELS[fi * MODELS_PER_FAMILY + s].name, '']);
    }
    const type = family.partTypes[h(n, seed + 4) % family.partTypes.length];
    const stock = WAREHOUSES.map((_, w) => (h(n * 3 + w, seed + 5) % 100 < 15 ? 0 : h(n * 3 + w, seed + 6) % 200));
    parts.push({
      id: n,
      code: `SP${String(100000 + n * 7).padStart(7, '0')}`,
      name: `${type} ${family.prefix.replace(/[/-]$/, '')}${n > 480 ? ' 通用' : ''}`,
      fits,
      stock,
    });
  }
  return parts;
}

export const SURNAMES = ['王', '李', '张', '刘', '陈', '杨', '黄', '赵', '吴', '周', '徐', '孙', '马', '朱', '胡', '郭', '何', '高', '林', '罗', '郑', '梁', '谢', '宋', '唐', '许', '韩', '冯', '邓', '曹'];
export const GIVEN = ['伟', '芳', '娜', '敏', '静', '丽', '强', '磊', '军', '洋', '勇', '艳', '杰', '娟', '涛', '明', '超', '秀', '霞', '平', '刚', '桂', '英', '华', '玉', '兰', '晨', '宇', '欣', '浩', '婷', '鹏', '辉', '琳', '瑶', '博', '俊', '怡', '雪', '峰'];
export const REGIONS = ['上海', '北京', '广东', '浙江', '江苏', '四川', '湖北', '山东', '福建', '河南', '湖南', '陕西', '重庆', '天津', '安徽', '辽宁'];
export const BUSINESSES = ['物业服务有限公司', '酒店管理有限公司', '连锁超市有限公司', '学校后勤中心', '医院设备科', '写字楼管理处'];
export const FAULTS = [
  { l1: '空调', l2: '制冷', l3: '不制冷', fault: '空调不制冷，出风口温度高', solution: '补充冷媒R32，检漏处理' },
  { l1: '空调', l2: '故障码', l3: 'E1', fault: '显示E1高压保护，开机十分钟停机', solution: '清洗冷凝器，更换外风机电容' },
  { l1: '空调', l2: '噪音', l3: '外机异响', fault: '外机运行时异响明显', solution: '紧固外机支架，更换减震垫' },
  { l1: '空调', l2: '漏水', l3: '内机漏水', fault: '内机滴水，墙面潮湿', solution: '疏通排水管，调整内机水平' },
  { l1: '空调', l2: '控制', l3: '遥控失灵', fault: '遥控器无法开机', solution: '更换遥控器' },
  { l1: '洗衣机', l2: '排水', l3: '不排水', fault: '洗衣机排水慢，报E21', solution: '清理排水泵过滤器' },
  { l1: '洗衣机', l2: '门锁', l3: '门锁故障', fault: '门锁无法解锁', solution: '更换门锁开关' },
  { l1: '冰箱', l2: '制冷', l3: '冷藏不冷', fault: '冷藏室温度偏高', solution: '更换温控器' },
  { l1: '冰箱', l2: '噪音', l3: '压缩机噪音', fault: '夜间压缩机噪音大', solution: '调整压缩机底座减震' },
  { l1: '热水器', l2: '加热', l3: '不加热', fault: '热水器不加热，显示F3', solution: '更换加热管' },
  { l1: '热水器', l2: '漏水', l3: '安全阀滴水', fault: '安全阀持续滴水', solution: '更换安全阀' },
  { l1: '安装', l2: '新机安装', l3: '预约安装', fault: '新购机器预约上门安装', solution: '已完成安装调试' },
];
export const AGENTS = ['agent:zhang.wei', 'agent:li.na', 'agent:wang.fang', 'agent:chen.jie', 'portal:wechat-miniapp', 'sync:salesforce'];
export const ENGINEERS = ['engineer:liu.yang', 'engineer:zhao.lei', 'engineer:sun.qiang', 'engineer:zhou.min', 'dispatcher:auto'];
export const CHANNELS = ['app', 'hotline', 'wechat', 'dealer', 'web'];
export const BLOCKING = ['等待配件到货', '客户不在家，改约时间', '需厂家技术支持'];

/**
 * Heavy customers (50 devices / 500 tickets) and shops (5–12 devices / 15–40 tickets) are chosen
 * by id, so the sample can find them without a table: keep in step with the seed SQL.
 */
export function isHeavyCustomer(id: number): boolean {
  return id % 5000 === 1;
}
export function isShopCustomer(id: number): boolean {
  return id % 100 === 50;
}

/** The phone of customer `id` under `seed` (a bijection on the 8 digits after +86138). */
export function phoneShift(seed: number): number {
  return (seed * 1234567) % 100_000_000;
}
export function phoneOf(id: number, seed: number): string {
  const digits = (id * 7919 + phoneShift(seed)) % 100_000_000;
  return `+86138${String(digits).padStart(8, '0')}`;
}
