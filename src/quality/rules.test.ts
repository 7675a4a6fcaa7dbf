import { loadRules, parseRules, RuleFileError } from './rules';
import { SCOPES } from './scopes';

const rule = (over: Record<string, unknown> = {}) => ({
  name: 'repeat-failure', kind: 'REPEAT_FAILURE', severity: 'WARNING', scope: 'model_fault_window',
  thresholds: { windowDays: 7, minTickets: 3 }, predicate: '$count(tickets) >= $thresholds.minTickets', message: '{{model}}', ...over,
});
const refused = (doc: unknown) => {
  try {
    parseRules(doc, 'rules.json');
  } catch (e) {
    expect(e).toBeInstanceOf(RuleFileError);
    return (e as Error).message;
  }
  throw new Error('the rules were accepted');
};

describe('check rules file', () => {
  it('loads the committed rules: every scope they use exists and every threshold is in range', () => {
    const set = loadRules();
    expect(set.rules.length).toBeGreaterThanOrEqual(8);
    expect(set.schedule).toEqual({ every: 3_600_000 });
    for (const r of set.rules) expect(Object.keys(r.thresholds).sort()).toEqual(Object.keys(SCOPES[r.scope].thresholds).sort());
  });

  it.each([
    [{ windowDays: 0, minTickets: 3 }, 'rules[0] (repeat-failure).thresholds.windowDays: 0 is out of range: length of the window, in days must be between 1 and 365'],
    [{ windowDays: 7, minTickets: 1 }, 'rules[0] (repeat-failure).thresholds.minTickets: 1 is out of range'],
    [{ windowDays: 7.5, minTickets: 3 }, 'thresholds.windowDays: expected a whole number, got 7.5'],
    [{ windowDays: '7', minTickets: 3 }, 'thresholds.windowDays: expected a number, got "7"'],
    [{ minTickets: 3 }, 'thresholds.windowDays: missing'],
    [{ windowDays: 7, minTickets: 3, hours: 2 }, 'scope model_fault_window has no threshold "hours"'],
  ])('refuses thresholds %j with a clear error naming rule and field', (thresholds, message) => {
    expect(refused({ rules: [rule({ thresholds })] })).toContain(message);
  });

  it.each([
    [{ scope: 'nowhere' }, 'rules[0] (repeat-failure).scope: unknown scope "nowhere"'],
    [{ severity: 'LOUD' }, 'severity: "LOUD" is not one of INFO, WARNING, ERROR'],
    [{ predicate: undefined }, 'give exactly one of predicate or predicateFile'],
    [{ predicateFile: '../../etc/passwd' }, 'give exactly one of predicate or predicateFile'],
    [{ predicate: undefined, predicateFile: '../etc/passwd' }, 'is not a mapping name'],
    [{ name: 'Bad Name' }, 'must be lower-case letters, digits and dashes'],
  ])('refuses %j', (over, message) => {
    expect(refused({ rules: [rule(over)] })).toContain(message);
  });

  it('refuses two rules with one name and a bad schedule', () => {
    expect(refused({ rules: [rule(), rule()] })).toContain('rule "repeat-failure" is declared twice');
    expect(refused({ schedule: { every: 'soon' }, rules: [] })).toContain('schedule.every');
  });
});
