/**
 * The outbox relay: moves committed PENDING outbox rows to the write-back queue.
 *
 * In one transaction: take a batch with `FOR UPDATE SKIP LOCKED` (several relays never take the
 * same row), add the jobs (job id from the outbox id), mark the rows QUEUED, commit. A crash after
 * the add and before the commit leaves the rows PENDING: the next relay adds them again and BullMQ
 * ignores an id it holds (a job already finished and removed runs again and finds its row final
 * or its key in the ledger). A crash before the add loses nothing: the rows are still PENDING.
 *
 * Pickup latency: a statement trigger NOTIFYs `junction_writeback` on every insert and the relay
 * LISTENs on its own connection; a poll (default every second) covers a lost connection.
 * A sweep (default every minute) reconciles rows the queue no longer knows about (Redis lost
 * its data, a job failed outside the worker): they go back to PENDING or to DEAD. It walks all
 * such rows in pages by id, not only the oldest page (which may all be waiting legitimately).
 */
import { Client } from 'pg';
import type { MikroORM } from '@mikro-orm/postgresql';
import { bulkExecutor, sqlRows } from '../db/sql';
import { storableJson } from '../db/storable-text';
import { logger } from '../logging/logger';
import { jobIdOf, WRITEBACK_JOB, WritebackQueue } from './queue';

export const NOTIFY_CHANNEL = 'junction_writeback';

export interface RelayOptions {
  orm: MikroORM;
  queue: WritebackQueue;
  /** For the LISTEN connection; default: the ORM's client URL. */
  databaseUrl?: string;
  batchSize?: number;
  pollMs?: number;
  /** Rows QUEUED/RETRYING longer than this are checked against the queue (default 60 s). */
  sweepAfterMs?: number;
  sweepEveryMs?: number;
  /** Rows the sweep reads per statement (default 1000); it reads page after page until none is left. */
  sweepPageSize?: number;
}

export class OutboxRelay {
  private listener: Client | null = null;
  private timers: NodeJS.Timeout[] = [];
  private running: Promise<void> | null = null;
  private sweeping: Promise<{ requeued: number; dead: number }> | null = null;
  private again = false;
  private closed = false;
  /** Rows relayed by this process (figures for the CLI and the benchmark). */
  relayed = 0;

  constructor(private readonly opts: RelayOptions) {}

  async start(): Promise<void> {
    await this.listen();
    this.timers.push(setInterval(() => this.kick(), this.opts.pollMs ?? 1000));
    this.timers.push(setInterval(() => void this.sweep().catch((e) => logger.warn('write-back sweep failed', { message: String(e) })), this.opts.sweepEveryMs ?? 60_000));
    this.kick();
  }

  /** Relays until no PENDING row is left; calls while it runs make it go round once more. */
  kick(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          while (!this.closed && (await this.relayOnce()) === (this.opts.batchSize ?? 1000));
        } while (this.again && !this.closed);
      } catch (e) {
        logger.warn('write-back relay failed; the poll tries again', { message: e instanceof Error ? e.message : String(e) });
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  /** One batch; returns how many rows it moved. */
  async relayOnce(): Promise<number> {
    const limit = this.opts.batchSize ?? 1000;
    return this.opts.orm.em.fork().transactional(async (em) => {
      const exec = bulkExecutor(em);
      const rows = await exec<{ id: string; connector: string }>(
        `select id, connector from writeback_outbox where status = 'PENDING' order by id limit ? for update skip locked`,
        [limit],
      );
      if (!rows.length) return 0;
      await this.opts.queue.addBulk(
        rows.map((r) => ({ name: WRITEBACK_JOB, data: { outboxId: String(r.id), connector: r.connector }, opts: { jobId: jobIdOf(r.id) } })),
      );
      await exec(`update writeback_outbox set status = 'QUEUED', relayed_at = clock_timestamp() where id = any(?::bigint[])`, [`{${rows.map((r) => r.id).join(',')}}`]);
      this.relayed += rows.length;
      return rows.length;
    });
  }

  /**
   * Rows the queue lost or failed outside the worker: back to PENDING (relayed again) or DEAD.
   * Walks every QUEUED/RETRYING row older than sweepAfterMs in pages by id (keyset: a row leaving
   * the set does not shift the pages), so a lost job behind any number of rows that legitimately
   * wait (a vendor down for days) is still found; a page's job states are read in parallel.
   */
  async sweep(): Promise<{ requeued: number; dead: number }> {
    // setInterval does not wait: a sweep still walking a long backlog is not started twice.
    this.sweeping ??= this.sweepAll().finally(() => {
      this.sweeping = null;
    });
    return this.sweeping;
  }

  private async sweepAll(): Promise<{ requeued: number; dead: number }> {
    const after = this.opts.sweepAfterMs ?? 60_000;
    const pageSize = this.opts.sweepPageSize ?? 1000;
    let requeued = 0;
    let dead = 0;
    for (let from = '0'; !this.closed; ) {
      const page = await sqlRows<{ id: string }>(this.opts.orm,
        `select id from writeback_outbox where status in ('QUEUED', 'RETRYING') and id > ? and coalesce(relayed_at, created_at) < clock_timestamp() - (? * interval '1 millisecond') order by id limit ?`,
        [from, after, pageSize]);
      for (let i = 0; i < page.length; i += 100) {
        const chunk = page.slice(i, i + 100);
        const states = await Promise.all(chunk.map(({ id }) => this.opts.queue.getJobState(jobIdOf(id))));
        for (const [k, { id }] of chunk.entries()) {
          if (states[k] === 'unknown' || states[k] === 'completed') {
            // Gone from Redis (or finished without recording it): run it again, idempotently.
            if (states[k] === 'completed') await this.opts.queue.remove(jobIdOf(id)).catch(() => undefined);
            await sqlRows(this.opts.orm, `update writeback_outbox set status = 'PENDING' where id = ? and status in ('QUEUED', 'RETRYING')`, [id]);
            requeued++;
          } else if (states[k] === 'failed') {
            const job = await this.opts.queue.getJob(jobIdOf(id));
            await sqlRows(this.opts.orm,
              `update writeback_outbox set status = 'DEAD', finished_at = clock_timestamp(), last_error = coalesce(last_error, '{}'::jsonb) || ?::jsonb where id = ? and status in ('QUEUED', 'RETRYING')`,
              [storableJson({ message: job?.failedReason ?? 'failed in the queue' }), id]);
            dead++;
          }
        }
      }
      if (page.length < pageSize) break;
      from = page[page.length - 1].id;
    }
    if (requeued) this.kick();
    return { requeued, dead };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.running;
    await this.sweeping?.catch(() => undefined);
    const l = this.listener;
    this.listener = null;
    await l?.end().catch(() => undefined);
  }

  private async listen(): Promise<void> {
    const url = this.opts.databaseUrl ?? (this.opts.orm.config.get('clientUrl') as string);
    const client = new Client({ connectionString: url, application_name: 'junction writeback relay' });
    client.on('notification', () => this.kick());
    client.on('error', (e) => {
      // The poll keeps relaying; try to listen again a little later.
      logger.warn('write-back relay lost its LISTEN connection', { message: e.message });
      if (this.listener === client) this.listener = null;
      if (!this.closed) setTimeout(() => void this.listen().catch(() => undefined), 1000).unref();
    });
    await client.connect();
    await client.query(`LISTEN ${NOTIFY_CHANNEL}`);
    this.listener = client;
  }
}
