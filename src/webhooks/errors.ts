import { ErrorCode, ErrorDetails, JunctionError } from '../errors/codes';

/** HTTP status of each webhook error: what the sender sees (and whether it retries). */
const STATUS: Partial<Record<ErrorCode, number>> = {
  [ErrorCode.WEBHOOK_UNKNOWN_CONNECTOR]: 404,
  [ErrorCode.WEBHOOK_NOT_ENABLED]: 404,
  [ErrorCode.WEBHOOK_UNSIGNED]: 401,
  [ErrorCode.WEBHOOK_BAD_SIGNATURE]: 401,
  [ErrorCode.WEBHOOK_STALE_TIMESTAMP]: 401,
  [ErrorCode.WEBHOOK_ORG_NOT_ALLOWED]: 403,
  [ErrorCode.WEBHOOK_TOO_LARGE]: 413,
  [ErrorCode.WEBHOOK_UNSUPPORTED_MEDIA_TYPE]: 415,
  [ErrorCode.WEBHOOK_MALFORMED]: 400,
  [ErrorCode.WEBHOOK_BAD_PAYLOAD]: 422,
  [ErrorCode.WEBHOOK_MISCONFIGURED]: 500,
  [ErrorCode.INTERNAL_SERVER_ERROR]: 500,
};

/** A refused webhook request: stable code, a message that says what and where, the HTTP status. */
export class WebhookError extends JunctionError {
  readonly status: number;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(code, message, details);
    this.name = 'WebhookError';
    this.status = STATUS[code] ?? 400;
  }
}

export const webhookError = (code: ErrorCode, message: string, details: ErrorDetails = {}) => new WebhookError(code, message, details);
