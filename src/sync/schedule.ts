/**
 * When each stream is pulled on its own: `streams.<name>.schedule` in junction.config.yaml.
 *
 *   streams:
 *     accounts: { schedule: { every: 5m } }                                 # an interval
 *     cases:    { schedule: { pattern: '0 8-20 * * 1-5', tz: Asia/Shanghai } } # cron
 *     contacts: { schedule: false }                                          # only on demand
 *     # any stream not mentioned: every 15 minutes
 *
 * `schedule` belongs to the hub, not to the connector: it is taken out of the stream settings
 * before the connector validates them, so connectors never see (or reject) it.
 */
import { ConfigError, ConfigIssue, ConnectorEntry, ConnectorsConfig } from '../connectors/config';

/** Every stream is pulled this often unless its config says otherwise. */
export const DEFAULT_EVERY_MS = 15 * 60_000;
/** Shortest interval accepted: faster than this is a busy loop against the vendor, not a schedule. */
export const MIN_EVERY_MS = 1_000;
const MAX_EVERY_MS = 31 * 24 * 3_600_000;

export type ScheduleSpec = { every: number; pattern?: undefined; tz?: undefined } | { pattern: string; tz?: string; every?: undefined };

/** One stream's schedule; `spec: null` = `schedule: false` (runs only when asked). */
export interface StreamSchedule {
  connector: string;
  stream: string;
  spec: ScheduleSpec | null;
}

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(?:(\d+)(ms|s|m|h|d))+$/;
const PART = /(\d+)(ms|s|m|h|d)/g;

/** `90s`, `5m`, `1h30m`, `1d` or a number of milliseconds → milliseconds; null when unreadable. */
export function parseDuration(value: unknown): number | null {
  if (typeof value === 'number') return Number.isInteger(value) && value > 0 ? value : null;
  if (typeof value !== 'string') return null;
  const s = value.trim().toLowerCase();
  if (!DURATION.test(s)) return null;
  let total = 0;
  for (const m of s.matchAll(PART)) total += Number(m[1]) * UNITS[m[2]];
  return total > 0 ? total : null;
}

/** `5m` for 300000, `1h30m` for 5400000 (messages and the CLI). */
export function formatDuration(ms: number): string {
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1_000]] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  if (rest || !parts.length) parts.push(`${rest}ms`);
  return parts.join('');
}

const CRON_FIELD = /^[0-9A-Za-z*?/,\-#LW]+$/;
const TZ = /^[A-Za-z_]+(?:\/[A-Za-z0-9_+-]+)*$|^(?:UTC|GMT)$|^[+-]\d{2}:\d{2}$/;
const SCHEDULE_KEYS = ['every', 'pattern', 'tz'];

/** Validates one `schedule:` value; pushes an issue per problem. `undefined` = not given (default). */
export function parseSchedule(raw: unknown, path: string, issues: ConfigIssue[]): ScheduleSpec | null | undefined {
  if (raw === undefined || raw === null || raw === true) return raw === true ? { every: DEFAULT_EVERY_MS } : undefined;
  if (raw === false) return null;
  const issue = (message: string, at = path) => issues.push({ path: at, message });
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    issue("must be false, or a mapping with `every: 5m` or a cron `pattern: '*/5 * * * *'`");
    return undefined;
  }
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!SCHEDULE_KEYS.includes(k)) issue(`unknown key (allowed: ${SCHEDULE_KEYS.join(', ')})`, `${path}.${k}`);
  if ((o.every === undefined) === (o.pattern === undefined)) {
    issue('give exactly one of `every` (an interval such as 5m) or `pattern` (cron)');
    return undefined;
  }
  if (o.every !== undefined) {
    if (o.tz !== undefined) issue('only applies to a cron `pattern`', `${path}.tz`);
    const every = parseDuration(o.every);
    if (every === null) issue('must be a duration such as 30s, 5m, 1h30m or 1d (or milliseconds)', `${path}.every`);
    else if (every < MIN_EVERY_MS || every > MAX_EVERY_MS) issue(`must be from ${formatDuration(MIN_EVERY_MS)} to ${formatDuration(MAX_EVERY_MS)}`, `${path}.every`);
    else return { every };
    return undefined;
  }
  const pattern = typeof o.pattern === 'string' ? o.pattern.trim() : '';
  const fields = pattern.split(/\s+/);
  if (!pattern || fields.length < 5 || fields.length > 6 || !fields.every((f) => CRON_FIELD.test(f))) {
    issue("must be a cron pattern with 5 fields (minute hour day month weekday) or 6 (seconds first), e.g. '*/15 * * * *'", `${path}.pattern`);
    return undefined;
  }
  if (o.tz !== undefined && (typeof o.tz !== 'string' || !TZ.test(o.tz))) {
    issue('must be an IANA time zone such as Asia/Shanghai', `${path}.tz`);
    return undefined;
  }
  return o.tz !== undefined ? { pattern, tz: o.tz as string } : { pattern };
}

/**
 * Splits the hub's `schedule` settings out of the connector entries: returns the entries without
 * them (for createConnectors) and each configured schedule by `connector` → `stream`.
 * Every invalid schedule is reported at once as a ConfigError.
 */
export function extractSchedules(config: ConnectorsConfig): {
  entries: ConnectorEntry[];
  configured: Map<string, Map<string, ScheduleSpec | null>>;
} {
  const issues: ConfigIssue[] = [];
  const configured = new Map<string, Map<string, ScheduleSpec | null>>();
  const entries = config.connectors.map((entry, i) => {
    const streams: Record<string, Record<string, unknown>> = {};
    const byStream = new Map<string, ScheduleSpec | null>();
    for (const [stream, settings] of Object.entries(entry.streams ?? {})) {
      const { schedule, ...rest } = settings ?? {};
      const spec = parseSchedule(schedule, `connectors[${i}].streams.${stream}.schedule`, issues);
      if (spec !== undefined) byStream.set(stream, spec);
      streams[stream] = rest;
    }
    configured.set(entry.name, byStream);
    return { ...entry, streams };
  });
  if (issues.length) throw new ConfigError(config.source, issues);
  return { entries, configured };
}

/** Every stream of every instance with the schedule it runs on (configured, else the default). */
export function resolveSchedules(
  streamsByConnector: Map<string, string[]>,
  configured: Map<string, Map<string, ScheduleSpec | null>>,
  source = 'config',
): StreamSchedule[] {
  const issues: ConfigIssue[] = [];
  const out: StreamSchedule[] = [];
  for (const [connector, streams] of streamsByConnector) {
    const own = configured.get(connector) ?? new Map<string, ScheduleSpec | null>();
    for (const name of own.keys()) {
      if (!streams.includes(name)) issues.push({ path: `${connector}.streams.${name}`, message: `no such stream (${connector} has: ${streams.join(', ')})` });
    }
    for (const stream of streams) {
      const spec = own.has(stream) ? own.get(stream)! : { every: DEFAULT_EVERY_MS };
      out.push({ connector, stream, spec });
    }
  }
  if (issues.length) throw new ConfigError(source, issues);
  return out;
}

/** `every 5m` / `cron '0 * * * *' (Asia/Shanghai)` / `off`. */
export function describeSchedule(spec: ScheduleSpec | null): string {
  if (!spec) return 'off (on demand only)';
  if (spec.every !== undefined) return `every ${formatDuration(spec.every)}`;
  return `cron '${spec.pattern}'${spec.tz ? ` (${spec.tz})` : ''}`;
}
