import { normalizePhone } from '../../src/identity/normalize';
import { isHeavyCustomer, phoneOf } from './seed-data';
import { mulberry32 } from '../../src/util/prng';

const toFullWidth = (s: string): string => s.replace(/[0-9+]/g, (ch) => String.fromCharCode(ch.charCodeAt(0) + 0xfee0));

/** The ways people write a CN mobile number into a search box. */
const FORMATS: ((national: string) => string)[] = [
  (n) => `+86${n}`,
  (n) => n,
  (n) => `${n.slice(0, 3)} ${n.slice(3, 7)} ${n.slice(7)}`,
  (n) => `${n.slice(0, 3)}-${n.slice(3, 7)}-${n.slice(7)}`,
  (n) => `+86 ${n.slice(0, 3)} ${n.slice(3, 7)} ${n.slice(7)}`,
  (n) => `0086 ${n}`,
  (n) => `(0086)${n.slice(0, 3)}-${n.slice(3, 7)}-${n.slice(7)}`,
  (n) => toFullWidth(n),
  (n) => `  ${n} `,
  (n) => `+86-${n}`,
];

export interface SampleItem {
  customerId: number;
  phone: string;
  identifier: string;
  heavy: boolean;
}

/** `rnd`'s pick of a raw written form of an E.164 CN phone, checked to normalize back to it. */
function rawForm(phone: string, rnd: () => number): string {
  const identifier = FORMATS[Math.floor(rnd() * FORMATS.length)](phone.slice(3));
  const normalized = normalizePhone(identifier);
  if (normalized !== phone) throw new Error(`sample identifier "${identifier}" normalizes to ${normalized}, expected ${phone}`);
  return identifier;
}

/**
 * `count` distinct customers drawn uniformly (heavy customers only at their natural rate, about
 * 1 in 5000), each as a phone in a random raw format.
 */
export function buildSample(customers: number, seed: number, count: number): SampleItem[] {
  if (count > customers) throw new Error(`cannot draw ${count} distinct customers out of ${customers}`);
  const rnd = mulberry32(seed ^ 0x5eed);
  const chosen = new Set<number>();
  const out: SampleItem[] = [];
  while (out.length < count) {
    const customerId = 1 + Math.floor(rnd() * customers);
    if (chosen.has(customerId)) continue;
    chosen.add(customerId);
    const phone = phoneOf(customerId, seed);
    out.push({ customerId, phone, identifier: rawForm(phone, rnd), heavy: isHeavyCustomer(customerId) });
  }
  return out;
}

/** `count` lookups of the heavy customers (50 devices / 500 tickets each), round robin. */
export function buildHeavySample(customers: number, seed: number, count: number): SampleItem[] {
  const rnd = mulberry32(seed ^ 0xbeef);
  const ids: number[] = [];
  for (let id = 1; id <= customers; id++) if (isHeavyCustomer(id)) ids.push(id);
  if (!ids.length) return [];
  return Array.from({ length: count }, (_, i) => {
    const customerId = ids[i % ids.length];
    const phone = phoneOf(customerId, seed);
    return { customerId, phone, identifier: rawForm(phone, rnd), heavy: true };
  });
}
