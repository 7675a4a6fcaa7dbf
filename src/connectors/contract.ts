/**
 * The contract between the hub and a connector (connectors/<name>/). A connector only fetches
 * and writes vendor data; it never maps it (JSONata mappings do) nor stores it (the sync
 * pipeline does). Keeping it this thin is what lets a remap run without refetching.
 */
import type { Clock } from './clock';
import type { HttpClient, HttpClientOptions, HttpLogger, RetryOptions } from './http';
import type { RateLimitOptions } from './rate-limit';
import type { Secret } from './secret';

export type SystemKind = 'crm' | 'erp' | 'iot';

export type EntityKind = 'customer' | 'device' | 'purchase' | 'spare_part' | 'stock' | 'telemetry' | 'complaint';

/** One vendor record, untouched: the mapping layer reads `payload`. */
export interface SourceRecord {
  /** The vendor's own id (Salesforce Id, Kingdee FID/FNumber, ThingsBoard device id). */
  externalId: string;
  /** ETag / SystemModstamp / FModifyDate: lets the pipeline skip unchanged and stale records. */
  version?: string | null;
  /** ISO 8601 time the vendor last changed it, when known. */
  updatedAt?: string | null;
  payload: unknown;
}

export interface SourcePage {
  records: SourceRecord[];
  /**
   * Opaque position to resume AFTER this page; the pipeline stores it with the page in the same
   * transaction. The last page's cursor is where the next incremental run starts. null = no
   * resumable position (the next read starts over).
   */
  cursor: string | null;
  hasMore: boolean;
}

export interface ReadOptions {
  /** A hint; the vendor may cap it (Salesforce query pages are 200–2000). */
  pageSize?: number;
  /** Aborts the read between and during requests (worker shutdown, job cancelled). */
  signal?: AbortSignal;
}

export interface StreamDefinition {
  name: string;
  entity: EntityKind;
  /**
   * Pages from `cursor` (null = from the beginning) to the current end. Lazy: the next request
   * is sent only when the consumer asks for the next page, so a stopped sync leaves nothing
   * fetched and unstored.
   */
  read(cursor: string | null, opts?: ReadOptions): AsyncIterable<SourcePage>;
}

export interface HealthResult {
  ok: boolean;
  /** What was wrong, for the admin UI; never secrets. */
  message?: string;
  /** ConnectorErrorCode when a ConnectorError caused `ok: false`. */
  code?: string;
  latencyMs?: number;
  details?: Record<string, unknown>;
}

export interface WriteContext {
  /** Derived from the outbox row: the same logical write always carries the same key. */
  idempotencyKey: string;
  /** Version the change was based on; a newer version at the target means skip/merge (CONNECTOR_CONFLICT). */
  targetVersion?: string | null;
  /** The vendor id of the record written to (Account, Case, device...), when the operation needs one. */
  targetId?: string;
  /**
   * Look for the effect of this key at the target before writing (default true). The worker turns
   * it off on a job's first try (no earlier attempt can have written it); the fault suite's
   * negative control turns it off always, to prove the checker sees the duplicates it prevents.
   */
  lookupFirst?: boolean;
  /** Write even though the target changed since `targetVersion` (survivorship said Junction wins). */
  force?: boolean;
  signal?: AbortSignal;
}

export interface WriteResult {
  externalId: string;
  /** Version at the target after the write. */
  version?: string | null;
  /** The target had already applied this idempotency key; nothing changed this time. */
  duplicate?: boolean;
  /** The target already was as the write wanted it; nothing was sent. */
  unchanged?: boolean;
  /**
   * Nothing written: the target changed since `targetVersion` (it answered 412 / its version
   * differs). `current` is what it holds now (re-read), for survivorship and the data issue.
   */
  conflict?: { current: Record<string, unknown>; version?: string | null };
}

/** One write-back operation. Throw ConnectorError; the write-back worker maps codes to retry / dead letter. */
export type WriteOperation = (payload: unknown, ctx: WriteContext) => Promise<WriteResult>;

export interface Connector {
  /** Instance name from the config file (e.g. `crm`). */
  readonly name: string;
  readonly streams: Record<string, StreamDefinition>;
  /** Resolves `ok: false` (with code and message) for an unreachable or refusing vendor; does not throw. */
  healthCheck(): Promise<HealthResult>;
  readonly write?: Record<string, WriteOperation>;
  close?(): Promise<void> | void;
}

/** One configured instance as `create()` receives it: validated, credentials resolved. */
export interface ConnectorConfig {
  /** Instance name, unique in the config file (e.g. `crm`). */
  name: string;
  /** Registered connector type (e.g. `salesforce`). */
  type: string;
  baseUrl: string;
  /** A sandbox/demo instance: the only kind allowed literal credential values. */
  sandbox: boolean;
  /** Resolved from env vars (or sandbox literals); `reveal()` only where the value is sent. */
  credentials: Record<string, Secret>;
  timeoutMs?: number;
  retry?: RetryOptions;
  rateLimit?: RateLimitOptions;
  /** Per-stream settings, connector specific (validate them in create()). */
  streams: Record<string, Record<string, unknown>>;
  /** Connector-specific settings (validate them in create()). */
  options: Record<string, unknown>;
}

/** HTTP settings a connector chooses; baseURL, timeout, retry and rate limit come from config unless set here as defaults. */
export type ConnectorHttpOptions = Partial<Omit<HttpClientOptions, 'connector' | 'clock' | 'logger' | 'random'>>;

export interface ConnectorDeps {
  /**
   * An HTTP client for this instance: its name, baseUrl, timeout, retry and a rate limiter shared
   * by every client of the instance come from config (config wins over the defaults passed here).
   */
  http(options?: ConnectorHttpOptions): HttpClient;
  clock: Clock;
  logger?: HttpLogger;
}

export interface ConnectorDefinition {
  /** Connector type, the `type:` in the config file (e.g. 'salesforce'). */
  name: string;
  system: SystemKind;
  /** Builds an instance. Throw ConnectorError CONNECTOR_MISCONFIGURED for bad streams/options. No I/O here. */
  create(config: ConnectorConfig, deps: ConnectorDeps): Connector;
}
