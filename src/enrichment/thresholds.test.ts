import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { MappingEngine } from '../mapping/engine';
import { TicketEnricher } from './enricher';
import { loadThresholds, validateThresholds } from './thresholds';

const rule = { modelPrefix: 'ELV-', metric: 'runCount', max: 500000, hint: 'INSPECT_TRACTION_SHEAVE', message: 'inspect traction sheave' };

describe('IoT thresholds file', () => {
  it('loads the committed file', () => {
    const rules = loadThresholds();
    expect(rules.find((r) => r.hint === 'INSPECT_TRACTION_SHEAVE')).toMatchObject({ modelPrefix: 'ELV-', metric: 'runCount' });
  });

  it.each([
    [{ ...rule, max: -5 }, 'rules[0].max is -5; must be a number above 0 and at most 10000000000'],
    [{ ...rule, max: 0 }, 'rules[0].max is 0'],
    [{ ...rule, max: 5e12 }, 'rules[0].max is 5000000000000'],
    [{ ...rule, max: '500000' }, 'rules[0].max is "500000"'],
    [{ ...rule, metric: 'temperature' }, 'rules[0].metric is "temperature"; one of runCount'],
    [{ ...rule, modelPrefix: ' ' }, 'rules[0].modelPrefix must be a non-empty text'],
    [{ ...rule, hint: 'inspect sheave' }, 'rules[0].hint must be an UPPER_CASE code'],
  ])('refuses %j with a clear error', (bad, message) => {
    expect(() => validateThresholds({ rules: [bad] }, 't.json')).toThrow(`t.json: ${message}`);
  });

  it('refuses the same prefix and metric twice', () => {
    expect(() => validateThresholds({ rules: [rule, rule] })).toThrow('rules[1] repeats modelPrefix ELV- for runCount');
  });

  it('refuses a bad file when the enricher loads it, so the process does not start with it', () => {
    const root = mkdtempSync(join(tmpdir(), 'junction-thresholds-'));
    try {
      mkdirSync(join(root, 'ticket'));
      writeFileSync(join(root, 'ticket', 'enrich.jsonata'), '{}');
      writeFileSync(join(root, 'ticket', 'iot-thresholds.json'), JSON.stringify({ rules: [{ ...rule, max: -1 }] }));
      expect(() => new TicketEnricher(new MappingEngine({ root }))).toThrow(/iot-thresholds\.json: rules\[0\]\.max is -1/);
      writeFileSync(join(root, 'ticket', 'iot-thresholds.json'), '{ not json');
      expect(() => new TicketEnricher(new MappingEngine({ root }))).toThrow(/iot-thresholds\.json: +cannot be read/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
