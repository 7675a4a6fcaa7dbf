/**
 * Typed connector errors. Callers (sync runs, write-back jobs, the GraphQL error mapper) branch
 * on `code` and `retryable`, never on message text, so codes are a stable public contract.
 */

export type ConnectorErrorCode =
  /** Credentials refused, or the session could not be renewed (one re-login already tried). */
  | 'CONNECTOR_AUTH_FAILED'
  /** 429 or a vendor quota; `retryAfterMs` says when to come back when the vendor told us. */
  | 'CONNECTOR_RATE_LIMITED'
  /** 5xx or a network failure: the vendor is (probably temporarily) not there. */
  | 'CONNECTOR_UNAVAILABLE'
  /** No complete answer within the request timeout. */
  | 'CONNECTOR_TIMEOUT'
  /** The vendor answered something we cannot use (not JSON, unexpected shape, redirect, too big). */
  | 'CONNECTOR_BAD_RESPONSE'
  /** The vendor refused this request (4xx or a vendor error in a 200 body); repeating it will not help. */
  | 'CONNECTOR_REQUEST_REJECTED'
  /** 409/412: the target changed under us; re-read and merge instead of retrying blindly. */
  | 'CONNECTOR_CONFLICT'
  /** Our side is wrong: bad config file, missing env var, unknown connector type. */
  | 'CONNECTOR_MISCONFIGURED';

/** One error as the vendor reported it (Salesforce errorCode, Kingdee Errors[], ThingsBoard errorCode). */
export interface VendorError {
  code?: string;
  message: string;
  /** Field or path the vendor blamed, when it says. */
  field?: string;
}

/** Codes worth trying again later without changing anything. */
const RETRYABLE_BY_DEFAULT: ReadonlySet<ConnectorErrorCode> = new Set<ConnectorErrorCode>([
  'CONNECTOR_RATE_LIMITED',
  'CONNECTOR_UNAVAILABLE',
  'CONNECTOR_TIMEOUT',
]);

export interface ConnectorErrorInit {
  code: ConnectorErrorCode;
  /** Connector instance name (e.g. `crm`), so a log line says which system failed. */
  connector: string;
  message: string;
  status?: number;
  retryAfterMs?: number;
  vendorErrors?: VendorError[];
  /** Defaults from the code: rate limits, unavailability and timeouts are retryable. */
  retryable?: boolean;
  /** HTTP method and path (no query string: it may carry secrets). */
  method?: string;
  path?: string;
  /** Only pass causes that cannot carry secrets (never an AxiosError: its config holds the headers). */
  cause?: unknown;
}

export class ConnectorError extends Error {
  readonly code: ConnectorErrorCode;
  readonly connector: string;
  readonly status?: number;
  readonly retryAfterMs?: number;
  readonly vendorErrors?: VendorError[];
  readonly retryable: boolean;
  readonly method?: string;
  readonly path?: string;

  constructor(init: ConnectorErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'ConnectorError';
    this.code = init.code;
    this.connector = init.connector;
    this.status = init.status;
    this.retryAfterMs = init.retryAfterMs;
    this.vendorErrors = init.vendorErrors;
    this.retryable = init.retryable ?? RETRYABLE_BY_DEFAULT.has(init.code);
    this.method = init.method;
    this.path = init.path;
  }

  /** Plain shape for logs, dead-letter rows and GraphQL extensions. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      connector: this.connector,
      message: this.message,
      status: this.status,
      retryable: this.retryable,
      retryAfterMs: this.retryAfterMs,
      vendorErrors: this.vendorErrors,
      method: this.method,
      path: this.path,
    };
  }
}

export function isConnectorError(err: unknown, code?: ConnectorErrorCode): err is ConnectorError {
  return err instanceof ConnectorError && (code === undefined || err.code === code);
}
