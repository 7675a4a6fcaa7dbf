import { GraphQLError } from 'graphql';

/**
 * Stable error codes shown in GraphQL `extensions.code`. Clients branch on these, so they
 * never change meaning; add new ones rather than reuse.
 */
export enum ErrorCode {
  BAD_USER_INPUT = 'BAD_USER_INPUT',
  NOT_FOUND = 'NOT_FOUND',
  UNAUTHENTICATED = 'UNAUTHENTICATED',
  FORBIDDEN = 'FORBIDDEN',
  CONFLICT = 'CONFLICT',
  INVALID_TRANSITION = 'INVALID_TRANSITION',
  /** A serial no device has; `extensions.suggestions` ranks the known serials it may mean. */
  UNKNOWN_SERIAL = 'UNKNOWN_SERIAL',
  /** A model Junction does not know; `extensions.suggestions` ranks the models of its family. */
  UNKNOWN_MODEL = 'UNKNOWN_MODEL',
  QUERY_TOO_DEEP = 'QUERY_TOO_DEEP',
  QUERY_TOO_COMPLEX = 'QUERY_TOO_COMPLEX',
  INTERNAL_SERVER_ERROR = 'INTERNAL_SERVER_ERROR',
  // Inbound push (POST /webhooks/<connector>), see src/webhooks/errors.ts for the HTTP status of each.
  WEBHOOK_UNKNOWN_CONNECTOR = 'WEBHOOK_UNKNOWN_CONNECTOR',
  WEBHOOK_NOT_ENABLED = 'WEBHOOK_NOT_ENABLED',
  WEBHOOK_UNSIGNED = 'WEBHOOK_UNSIGNED',
  WEBHOOK_BAD_SIGNATURE = 'WEBHOOK_BAD_SIGNATURE',
  WEBHOOK_STALE_TIMESTAMP = 'WEBHOOK_STALE_TIMESTAMP',
  WEBHOOK_ORG_NOT_ALLOWED = 'WEBHOOK_ORG_NOT_ALLOWED',
  WEBHOOK_TOO_LARGE = 'WEBHOOK_TOO_LARGE',
  WEBHOOK_UNSUPPORTED_MEDIA_TYPE = 'WEBHOOK_UNSUPPORTED_MEDIA_TYPE',
  WEBHOOK_MALFORMED = 'WEBHOOK_MALFORMED',
  WEBHOOK_BAD_PAYLOAD = 'WEBHOOK_BAD_PAYLOAD',
  WEBHOOK_MISCONFIGURED = 'WEBHOOK_MISCONFIGURED',
}

export interface ErrorDetails {
  /** The input field at fault, as a path like `input.phone`. */
  field?: string;
  /** Id or key of the record at fault. */
  recordId?: string;
  [key: string]: unknown;
}

/** A domain error with a stable code; GraphQL shows code and details in `extensions`. */
export class JunctionError extends GraphQLError {
  readonly code: ErrorCode;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(message, { extensions: { code, ...details } });
    this.name = 'JunctionError';
    this.code = code;
    this.details = details;
  }
}

export const badInput = (message: string, field: string, extra: ErrorDetails = {}) =>
  new JunctionError(ErrorCode.BAD_USER_INPUT, message, { field, ...extra });

export const notFound = (message: string, extra: ErrorDetails = {}) =>
  new JunctionError(ErrorCode.NOT_FOUND, message, extra);
