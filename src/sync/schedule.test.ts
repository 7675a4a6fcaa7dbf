import { ConfigError, parseConnectorsConfig } from '../connectors/config';
import { DEFAULT_EVERY_MS, describeSchedule, extractSchedules, formatDuration, parseDuration, resolveSchedules } from './schedule';

const yaml = (streams: string) =>
  parseConnectorsConfig(`
connectors:
  - name: crm
    type: salesforce
    baseUrl: https://crm.example.test
    streams:
${streams}
`);

describe('stream schedules from the config', () => {
  it('reads durations', () => {
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('1d')).toBe(86_400_000);
    expect(parseDuration(60000)).toBe(60_000);
    for (const bad of ['5', 'five minutes', '5 m', '-5m', '0s', '', 1.5, -1]) expect(parseDuration(bad)).toBeNull();
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(DEFAULT_EVERY_MS)).toBe('15m');
  });

  it('takes `schedule` out of the stream settings the connector sees, keeping the rest', () => {
    const { entries, configured } = extractSchedules(
      yaml(`      accounts: { pageSize: 200, schedule: { every: 5m } }
      cases: { schedule: { pattern: '0 8-20 * * 1-5', tz: Asia/Shanghai } }
      contacts: { schedule: false }
      products: { pageSize: 50 }`),
    );
    expect(entries[0].streams).toEqual({ accounts: { pageSize: 200 }, cases: {}, contacts: {}, products: { pageSize: 50 } });
    const crm = configured.get('crm')!;
    expect(crm.get('accounts')).toEqual({ every: 300_000 });
    expect(crm.get('cases')).toEqual({ pattern: '0 8-20 * * 1-5', tz: 'Asia/Shanghai' });
    expect(crm.get('contacts')).toBeNull();
    expect(crm.has('products')).toBe(false);
  });

  it('gives every stream not configured the 15 minute default and keeps false as off', () => {
    const { configured } = extractSchedules(yaml(`      accounts: { schedule: { every: 90s } }
      contacts: { schedule: false }`));
    const schedules = resolveSchedules(new Map([['crm', ['accounts', 'contacts', 'cases']]]), configured);
    expect(schedules).toEqual([
      { connector: 'crm', stream: 'accounts', spec: { every: 90_000 } },
      { connector: 'crm', stream: 'contacts', spec: null },
      { connector: 'crm', stream: 'cases', spec: { every: DEFAULT_EVERY_MS } },
    ]);
    expect(schedules.map((s) => describeSchedule(s.spec))).toEqual(['every 1m30s', 'off (on demand only)', 'every 15m']);
  });

  it('reports every invalid schedule at once, with its path', () => {
    let err: ConfigError | undefined;
    try {
      extractSchedules(
        yaml(`      a: { schedule: { every: 5 minutes } }
      b: { schedule: { every: 5m, pattern: '* * * * *' } }
      c: { schedule: { pattern: 'every day' } }
      d: { schedule: { every: 1ms } }
      e: { schedule: 'hourly' }
      f: { schedule: { every: 5m, tz: Asia/Shanghai } }
      g: { schedule: { pattern: '*/5 * * * *', at: noon } }`),
      );
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(err!.issues.map((i) => i.path)).toEqual([
      'connectors[0].streams.a.schedule.every',
      'connectors[0].streams.b.schedule',
      'connectors[0].streams.c.schedule.pattern',
      'connectors[0].streams.d.schedule.every',
      'connectors[0].streams.e.schedule',
      'connectors[0].streams.f.schedule.tz',
      'connectors[0].streams.g.schedule.at',
    ]);
  });

  it('refuses a schedule for a stream the connector does not have, naming the real ones', () => {
    const { configured } = extractSchedules(yaml(`      acounts: { schedule: { every: 5m } }`));
    expect(() => resolveSchedules(new Map([['crm', ['accounts', 'cases']]]), configured)).toThrow(/crm\.streams\.acounts: no such stream \(crm has: accounts, cases\)/);
  });
});
