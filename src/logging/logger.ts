/** Minimal structured logger: one JSON line per event on stderr. Never pass secrets in fields. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

function threshold(): number {
  const env = (process.env.JUNCTION_LOG_LEVEL || (process.env.NODE_ENV === 'test' ? 'warn' : 'info')) as LogLevel;
  return ORDER[env] ?? ORDER.info;
}

export function log(level: LogLevel, message: string, fields: Record<string, unknown> = {}): void {
  if (ORDER[level] < threshold()) return;
  process.stderr.write(JSON.stringify({ t: new Date().toISOString(), level, msg: message, ...fields }) + '\n');
}

export const logger = {
  debug: (m: string, f?: Record<string, unknown>) => log('debug', m, f),
  info: (m: string, f?: Record<string, unknown>) => log('info', m, f),
  warn: (m: string, f?: Record<string, unknown>) => log('warn', m, f),
  error: (m: string, f?: Record<string, unknown>) => log('error', m, f),
};
