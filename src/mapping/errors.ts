/** Why a mapping could not turn a record into canonical output. Codes are stable. */
export type MappingErrorCode =
  | 'MAPPING_NOT_FOUND'
  | 'MAPPING_COMPILE_FAILED'
  | 'MAPPING_FAILED'
  | 'MAPPING_TIMEOUT'
  | 'MAPPING_INVALID_OUTPUT';

export class MappingError extends Error {
  constructor(
    readonly code: MappingErrorCode,
    readonly mapping: string,
    message: string,
    readonly details: { position?: number; token?: string; jsonataCode?: string; field?: string } = {},
  ) {
    super(`Mapping ${mapping}: ${message}`);
    this.name = 'MappingError';
  }
}

/** JSONata throws plain objects {code, position, token, message}; keep what helps a person fix the expression. */
export function fromJsonataError(mapping: string, e: unknown, compile: boolean): MappingError {
  const err = (e ?? {}) as { code?: string; position?: number; token?: string; message?: string };
  if (err.code === 'D1012') {
    return new MappingError('MAPPING_TIMEOUT', mapping, `${err.message ?? 'evaluation timed out'} (stopped by the time budget)`, { jsonataCode: err.code });
  }
  if (err.code === 'D1011') {
    return new MappingError('MAPPING_TIMEOUT', mapping, 'evaluation nested too deeply (runaway recursion?)', { jsonataCode: err.code });
  }
  const where = err.position !== undefined ? ` at position ${err.position}${err.token ? ` near "${err.token}"` : ''}` : '';
  return new MappingError(
    compile ? 'MAPPING_COMPILE_FAILED' : 'MAPPING_FAILED',
    mapping,
    `${err.message ?? String(e)}${where}`,
    { position: err.position, token: err.token, jsonataCode: err.code },
  );
}
