/** The connector kit: what connectors/<name>/ import (`import { ... } from '../../src/connectors'`). */
export * from './contract';
export * from './errors';
export * from './http';
export * from './auth';
export * from './rate-limit';
export * from './backoff';
export * from './clock';
export * from './secret';
export * from './config';
export * from './registry';
export { redact, redactUrl, isSensitiveName, REDACTED } from './redact';
export * from './test-clock';
