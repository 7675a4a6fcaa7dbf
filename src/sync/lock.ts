/**
 * One run per stream at a time, across every process: a PostgreSQL session advisory lock keyed by
 * (connector, stream), taken by the worker around each job and by `junction sync` around each
 * stream. It is held on a connection of its own (not one of the ORM pool's), so the pipeline's
 * transactions never share it and a crashed process drops the lock with its connection.
 *
 * Key: the two-int form `(SYNC_LOCK_CLASS, hashtext('<connector>/<stream>'))`; that key space does
 * not overlap the single-bigint one other code uses. Two different streams whose names hash alike
 * would only ever wait for each other, never run together unsafely.
 */
import type { MikroORM } from '@mikro-orm/postgresql';
import { Client } from 'pg';
import { logger } from '../logging/logger';

/** First half of every sync lock key ("JSYN"). */
export const SYNC_LOCK_CLASS = 0x4a53594e;

export interface StreamLock {
  connector: string;
  stream: string;
  /** Aborts if the lock's connection is lost: the run must stop, another may already have started. */
  readonly signal: AbortSignal;
  release(): Promise<void>;
}

export interface LockOptions {
  /** Shown as application_name of the lock's connection (pg_stat_activity), e.g. `junction worker`. */
  holder?: string;
  /** Overrides the ORM's clientUrl. */
  databaseUrl?: string;
}

export interface WaitOptions extends LockOptions {
  signal?: AbortSignal;
  /** How often to try again while another run holds the lock (default 1 s). */
  pollMs?: number;
  /** Called once, when the first try finds the stream busy. */
  onWait?: (holder: LockHolder | null) => void;
}

/** Who holds a stream's lock, as PostgreSQL sees it. */
export interface LockHolder {
  pid: number;
  applicationName: string;
  since: Date | null;
}

const lockKey = (connector: string, stream: string) => `${connector}/${stream}`;

function databaseUrlOf(orm: MikroORM, opts: LockOptions): string {
  const url = opts.databaseUrl ?? orm.config.get('clientUrl');
  if (!url) throw new Error('stream locks need the database URL (clientUrl) of the ORM');
  return url;
}

/** Takes the lock if it is free; null when another run holds it. */
export async function tryLockStream(orm: MikroORM, connector: string, stream: string, opts: LockOptions = {}): Promise<StreamLock | null> {
  const client = new Client({
    connectionString: databaseUrlOf(orm, opts),
    application_name: `${opts.holder ?? 'junction'} sync ${lockKey(connector, stream)}`.slice(0, 63),
    keepAlive: true,
  });
  const lost = new AbortController();
  let released = false;
  client.on('error', (e) => {
    if (released) return;
    logger.error('sync lock connection lost: stopping the run', { connector, stream, message: e.message });
    lost.abort(new Error(`the lock on ${lockKey(connector, stream)} was lost (${e.message})`));
  });
  client.on('end', () => {
    if (!released) lost.abort(new Error(`the lock on ${lockKey(connector, stream)} was lost (connection closed)`));
  });
  await client.connect();
  let got = false;
  try {
    const r = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', [SYNC_LOCK_CLASS, lockKey(connector, stream)]);
    got = r.rows[0]?.ok === true;
  } finally {
    if (!got) {
      released = true;
      await client.end().catch(() => undefined);
    }
  }
  if (!got) return null;
  return {
    connector,
    stream,
    signal: lost.signal,
    async release() {
      if (released) return;
      released = true;
      // Closing the session releases the lock even if the unlock statement fails.
      await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [SYNC_LOCK_CLASS, lockKey(connector, stream)]).catch(() => undefined);
      await client.end().catch(() => undefined);
    },
  };
}

/** Waits until the lock is free (polling, so `signal` can stop the wait), then takes it. */
export async function lockStream(orm: MikroORM, connector: string, stream: string, opts: WaitOptions = {}): Promise<StreamLock> {
  let told = false;
  for (;;) {
    opts.signal?.throwIfAborted();
    const lock = await tryLockStream(orm, connector, stream, opts);
    if (lock) return lock;
    if (!told) {
      told = true;
      opts.onWait?.(await streamLockHolder(orm, connector, stream, opts).catch(() => null));
    }
    await sleep(opts.pollMs ?? 1000, opts.signal);
  }
}

/** Runs `fn` holding the stream's lock; null (fn not called) when another run holds it. */
export async function withStreamLock<T>(orm: MikroORM, connector: string, stream: string, fn: (lock: StreamLock) => Promise<T>, opts: LockOptions = {}): Promise<{ ran: true; value: T } | { ran: false }> {
  const lock = await tryLockStream(orm, connector, stream, opts);
  if (!lock) return { ran: false };
  try {
    return { ran: true, value: await fn(lock) };
  } finally {
    await lock.release();
  }
}

/** The session holding the stream's lock, if any (for "busy" messages). */
export async function streamLockHolder(orm: MikroORM, connector: string, stream: string, opts: LockOptions = {}): Promise<LockHolder | null> {
  const client = new Client({ connectionString: databaseUrlOf(orm, opts) });
  await client.connect();
  try {
    const r = await client.query<{ pid: number; application_name: string; since: Date | null }>(
      `SELECT a.pid, a.application_name, a.backend_start AS since
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND l.classid = $1::int4::oid AND l.objid = hashtext($2)::oid AND l.objsubid = 2
        LIMIT 1`,
      [SYNC_LOCK_CLASS, lockKey(connector, stream)],
    );
    const row = r.rows[0];
    return row ? { pid: row.pid, applicationName: row.application_name, since: row.since } : null;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export function describeHolder(h: LockHolder | null): string {
  if (!h) return 'another run';
  return `${h.applicationName || 'another session'} (PostgreSQL pid ${h.pid}${h.since ? `, connected ${h.since.toISOString()}` : ''})`;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
