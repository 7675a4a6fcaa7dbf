/**
 * The gateway's side of sync: validates a request against the configured connectors and puts
 * jobs on the queue for the workers. Both the queue (Redis) and the connector catalogue
 * (junction.config.yaml, read without resolving credentials) are opened on first use, so a
 * gateway that never runs a sync needs neither, and no gateway needs the vendors' secrets.
 */
import { badInput, ErrorCode, JunctionError } from '../errors/codes';
import { logger } from '../logging/logger';
import { describeUnknown, loadStreamCatalog, StreamCatalog } from './instances';
import { createSyncQueue, enqueueSync, EnqueuedSync, SyncQueue, SyncTrigger } from './queue';

export interface SyncRequestsOptions {
  redisUrl: string;
  /** BullMQ key prefix (default `bull`). */
  prefix?: string;
  /** Connector config file (default: $JUNCTION_CONFIG, else ./junction.config.yaml). */
  configPath?: string;
  /** How long to wait for Redis before telling the client the queue is unreachable (default 5 s). */
  timeoutMs?: number;
}

export class SyncRequests {
  private queueInstance: SyncQueue | null = null;
  private streams: StreamCatalog | null = null;

  constructor(private readonly opts: SyncRequestsOptions) {}

  /** The queue, opened on first use. */
  get queue(): SyncQueue {
    this.queueInstance ??= createSyncQueue({ connection: this.opts.redisUrl, prefix: this.opts.prefix });
    return this.queueInstance;
  }

  /** Configured connectors and their streams (read once, without resolving any credentials). */
  catalog(): StreamCatalog {
    if (!this.streams) {
      try {
        this.streams = loadStreamCatalog(this.opts.configPath);
      } catch (e) {
        logger.error('cannot load the connector config', { message: e instanceof Error ? e.message : String(e) });
        throw new JunctionError(ErrorCode.INTERNAL_SERVER_ERROR, 'The connector configuration could not be loaded; the gateway log says why');
      }
    }
    return this.streams;
  }

  /**
   * Queues a run of `stream`, or of every stream of `connector` when stream is null.
   * Unknown names are BAD_USER_INPUT on the field at fault, naming the valid ones.
   */
  async request(connector: string, stream: string | null | undefined, full: boolean, trigger: SyncTrigger = 'api'): Promise<EnqueuedSync[]> {
    const catalog = this.catalog();
    const unknown = describeUnknown(catalog, connector, stream);
    if (unknown) throw badInput(unknown.message, unknown.field);
    const streams = stream ? [stream] : catalog.get(connector)!;
    const out: EnqueuedSync[] = [];
    for (const s of streams) out.push(await this.withTimeout(enqueueSync(this.queue, { connector, stream: s, full, trigger })));
    return out;
  }

  async close(): Promise<void> {
    const q = this.queueInstance;
    this.queueInstance = null;
    if (q) await q.close().catch((e) => logger.warn('closing the sync queue failed', { message: e instanceof Error ? e.message : String(e) }));
  }

  private withTimeout<T>(p: Promise<T>): Promise<T> {
    const ms = this.opts.timeoutMs ?? 5000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new JunctionError(ErrorCode.INTERNAL_SERVER_ERROR, `The sync queue did not answer within ${ms} ms (is Redis reachable?)`)), ms);
    });
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
  }
}
