/**
 * What admins do with write-backs (GraphQL retryWriteBack / discardWriteBack): change the outbox
 * row in one transaction (audited) and take its job out of the queue, so the relay queues it
 * again (retry) or nobody runs it (discard). The queue is opened on first use.
 */
import { isBigintId } from '../util/bigint-id';
import type { MikroORM } from '@mikro-orm/postgresql';
import { sqlOne } from '../db/sql';
import { ErrorCode, JunctionError, notFound } from '../errors/codes';
import { NOTIFY_CHANNEL } from './relay';
import { createWritebackQueue, jobIdOf, WritebackQueue } from './queue';

export const RETRYABLE_STATES = ['DEAD', 'CONFLICT', 'DISCARDED', 'SKIPPED'];
export const DISCARDABLE_STATES = ['PENDING', 'QUEUED', 'RETRYING', 'DEAD', 'CONFLICT'];

export interface Actor {
  name: string;
  origin: string;
}

export class WritebackAdmin {
  private queueInstance: WritebackQueue | null = null;

  constructor(private readonly orm: MikroORM, private readonly opts: { redisUrl: string; prefix?: string; queue?: WritebackQueue }) {
    this.queueInstance = opts.queue ?? null;
  }

  get queue(): WritebackQueue {
    this.queueInstance ??= createWritebackQueue(this.opts.redisUrl, this.opts.prefix);
    return this.queueInstance;
  }

  /** Back to PENDING with fresh attempts; `force` = write even where the target changed since (a person decided). */
  async retry(id: string, actor: Actor, force = false): Promise<void> {
    // picked_at stays: the row was tried before, so the worker looks for its key at the target
    // first (the last attempt may have written before it failed) instead of writing blindly.
    await this.change(id, RETRYABLE_STATES, 'retried', actor, `status = 'PENDING', attempts = 0, finished_at = null, relayed_at = null${force ? `, payload = payload || '{"force": true}'::jsonb` : ''}`);
    await sqlOne(this.orm, `select pg_notify('${NOTIFY_CHANNEL}', '')`);
  }

  async discard(id: string, actor: Actor): Promise<void> {
    await this.change(id, DISCARDABLE_STATES, 'discarded', actor, `status = 'DISCARDED', finished_at = clock_timestamp()`);
  }

  async close(): Promise<void> {
    if (this.queueInstance && !this.opts.queue) await this.queueInstance.close();
  }

  private async change(id: string, from: string[], verb: string, actor: Actor, set: string): Promise<void> {
    if (!isBigintId(id)) throw new JunctionError(ErrorCode.BAD_USER_INPUT, `"${id}" is not a write-back id`, { field: 'id' });
    await this.orm.em.fork().transactional(async (em) => {
      const row = await sqlOne<{ status: string }>(em, `select status from writeback_outbox where id = ? for update`, [id]);
      if (!row) throw notFound(`No write-back ${id}`, { field: 'id', recordId: id });
      if (!from.includes(row.status)) {
        throw new JunctionError(ErrorCode.CONFLICT, `Write-back ${id} is ${row.status}; only ${from.join(', ')} ones can be ${verb}`, { field: 'id', recordId: id, status: row.status });
      }
      // Checked first, changed second: the job goes (or a running one refuses) only once the row
      // may change, while the row is locked; a refusal leaves both as they were.
      await this.removeJob(id);
      const after = await sqlOne<{ status: string }>(em, `update writeback_outbox set ${set} where id = ? returning status`, [id]);
      await sqlOne(em, `insert into audit_log (entity_type, entity_id, field, before, after, actor, origin) values ('writeback', ?, 'status', ?::jsonb, ?::jsonb, ?, ?)`,
        [id, JSON.stringify(row.status), JSON.stringify(after!.status), actor.name, actor.origin]);
    });
  }

  /** A job still held by BullMQ (failed, completed, waiting) would swallow the relay's new add. */
  private async removeJob(id: string): Promise<void> {
    const job = await this.queue.getJob(jobIdOf(id));
    if (!job) return;
    if (await job.isActive()) {
      throw new JunctionError(ErrorCode.CONFLICT, `Write-back ${id} is being applied right now; try again in a moment`, { field: 'id', recordId: id });
    }
    await job.remove();
  }
}
