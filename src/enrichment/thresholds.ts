import { readFileSync } from 'fs';
import { join } from 'path';
import { defaultMappingsRoot } from '../mapping/engine';

/** One IoT threshold: devices whose model starts with `modelPrefix` and whose `metric` is over `max` get `hint`. */
export interface IotThreshold {
  modelPrefix: string;
  metric: 'runCount';
  max: number;
  hint: string;
  message: string;
}

const METRICS = ['runCount'] as const;
/** Beyond any real counter: a bigger "max" is a typo (an extra zero), not a threshold. */
const MAX_LIMIT = 1e10;

/** A thresholds file that cannot be used: says which rule and field, and why. */
export class ThresholdsError extends Error {
  constructor(file: string, where: string, problem: string) {
    super(`${file}: ${where} ${problem}`);
    this.name = 'ThresholdsError';
  }
}

/** Checks a parsed thresholds document; refuses out-of-range or malformed rules with a clear error. */
export function validateThresholds(doc: unknown, file = 'iot-thresholds.json'): IotThreshold[] {
  const rules = (doc as { rules?: unknown })?.rules;
  if (!Array.isArray(rules)) throw new ThresholdsError(file, 'rules', 'must be a list');
  const seen = new Set<string>();
  return rules.map((r: any, i) => {
    const at = `rules[${i}]`;
    if (!r || typeof r !== 'object') throw new ThresholdsError(file, at, 'must be an object');
    if (typeof r.modelPrefix !== 'string' || !r.modelPrefix.trim()) throw new ThresholdsError(file, `${at}.modelPrefix`, 'must be a non-empty text');
    if (!METRICS.includes(r.metric)) throw new ThresholdsError(file, `${at}.metric`, `is ${JSON.stringify(r.metric)}; one of ${METRICS.join(', ')}`);
    if (typeof r.max !== 'number' || !Number.isFinite(r.max) || r.max <= 0 || r.max > MAX_LIMIT) {
      throw new ThresholdsError(file, `${at}.max`, `is ${JSON.stringify(r.max)}; must be a number above 0 and at most ${MAX_LIMIT}`);
    }
    if (typeof r.hint !== 'string' || !/^[A-Z][A-Z0-9_]*$/.test(r.hint)) throw new ThresholdsError(file, `${at}.hint`, 'must be an UPPER_CASE code');
    if (typeof r.message !== 'string' || !r.message.trim()) throw new ThresholdsError(file, `${at}.message`, 'must be a non-empty text');
    const key = `${r.modelPrefix}\u0000${r.metric}`;
    if (seen.has(key)) throw new ThresholdsError(file, at, `repeats modelPrefix ${r.modelPrefix} for ${r.metric}`);
    seen.add(key);
    return { modelPrefix: r.modelPrefix, metric: r.metric, max: r.max, hint: r.hint, message: r.message };
  });
}

/** Reads and checks `<mappings>/ticket/iot-thresholds.json` (at load: a bad file stops the process that loads it). */
export function loadThresholds(root = defaultMappingsRoot()): IotThreshold[] {
  const file = join(root, 'ticket', 'iot-thresholds.json');
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ThresholdsError(file, '', `cannot be read: ${(e as Error).message}`);
  }
  return validateThresholds(doc, file);
}
