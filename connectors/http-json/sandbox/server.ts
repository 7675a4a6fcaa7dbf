/**
 * A stand-in for a legacy system that takes JSON documents over HTTP (what `type: http-json`
 * talks to): POST any path stores the JSON body, deduplicated by `Idempotency-Key` (a key seen
 * before gets the first answer again, marked `Idempotent-Replayed: true`; the same key with another document is 422); `GET <path>` lists what
 * that path received; `GET /health` answers 200. With a token, requests need `Authorization:
 * Bearer <token>`.
 *
 * For the demo and end-to-end tests: `control` lists the documents, injects failures (5xx, 429
 * with Retry-After, 4xx with a message) and counts effects per key (`GET /__sandbox/effects`).
 */
import { createServer, IncomingMessage, ServerResponse } from 'http';
import { readSandboxBody } from '../../../src/connectors/sandbox-body';
import type { AddressInfo } from 'net';
import { EffectCounter } from '../../../src/connectors/sandbox-effects';

export interface HttpJsonSandboxOptions {
  /** 0 (default) = a free port. */
  port?: number;
  host?: string;
  /** Required bearer token; none = open. */
  token?: string;
}

export interface ReceivedDocument {
  id: string;
  path: string;
  idempotencyKey: string | null;
  body: unknown;
  receivedAt: string;
}

export interface HttpJsonInjection {
  /** Only POSTs whose path contains this. */
  path?: string;
  retryAfterSeconds?: number;
  /** Body of the failure (default `{ "message": "..." }`). */
  body?: unknown;
}

export interface HttpJsonSandboxControl {
  /** Documents received (stored once per key), optionally of one path. */
  received(path?: string): ReceivedDocument[];
  /** The next `count` matching POSTs fail with `status` (nothing stored). */
  failNext(count: number, status: number, options?: HttpJsonInjection): void;
  /** POSTs stored, counted by Idempotency-Key (a duplicate is never counted twice). */
  readonly effects: EffectCounter;
  /** Every POST that arrived, duplicates and refusals included. */
  readonly posts: Array<{ path: string; idempotencyKey: string | null; status: number }>;
  reset(): void;
}

export interface HttpJsonSandbox {
  url: string;
  control: HttpJsonSandboxControl;
  close(): Promise<void>;
}

const MAX_BODY = 1024 * 1024;

export async function startHttpJsonSandbox(options: HttpJsonSandboxOptions = {}): Promise<HttpJsonSandbox> {
  let documents: ReceivedDocument[] = [];
  let byKey = new Map<string, ReceivedDocument>();
  let injections: Array<{ remaining: number; status: number; options: HttpJsonInjection }> = [];
  const posts: HttpJsonSandboxControl['posts'] = [];
  const effects = new EffectCounter();
  let seq = 0;

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };

  const readBody = (req: IncomingMessage) => readSandboxBody(req, { maxBytes: MAX_BODY, destroy: false });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (effects.serve(req, res)) return;
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/health') return send(res, 200, { status: 'UP' });
    if (options.token && req.headers.authorization !== `Bearer ${options.token}`) {
      req.resume();
      return send(res, 401, { message: 'missing or wrong bearer token' });
    }
    if (req.method === 'GET') return send(res, 200, { documents: documents.filter((d) => d.path === path) });
    if (req.method !== 'POST') {
      req.resume();
      return send(res, 405, { message: `${req.method} is not supported; POST a JSON document` });
    }
    const key = typeof req.headers['idempotency-key'] === 'string' ? req.headers['idempotency-key'] : null;
    const text = await readBody(req).catch(() => null);
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      posts.push({ path, idempotencyKey: key, status });
      send(res, status, body, headers);
    };
    if (text === null) return answer(413, { message: `document larger than ${MAX_BODY} bytes` });
    const inj = injections.find((i) => i.remaining > 0 && (!i.options.path || path.includes(i.options.path)));
    if (inj) {
      inj.remaining--;
      const headers: Record<string, string> = inj.options.retryAfterSeconds !== undefined ? { 'Retry-After': String(inj.options.retryAfterSeconds) } : {};
      return answer(inj.status, inj.options.body ?? { message: `sandbox: injected HTTP ${inj.status}` }, headers);
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return answer(400, { message: 'the body is not JSON' });
    }
    if (!body || typeof body !== 'object') return answer(422, { message: 'expected a JSON object or array' });
    // As the IETF Idempotency-Key draft says: a repeat of a finished request gets the first answer
    // again (marked Idempotent-Replayed), the same key with another document is 422.
    const seen = key ? byKey.get(key) : undefined;
    if (seen && JSON.stringify(seen.body) !== JSON.stringify(body)) {
      return answer(422, { message: `Idempotency-Key ${key} was used for another document (${seen.id})` });
    }
    if (seen) return answer(201, { id: seen.id }, { 'Idempotent-Replayed': 'true' });
    const doc: ReceivedDocument = { id: `DOC-${++seq}`, path, idempotencyKey: key, body, receivedAt: new Date().toISOString() };
    documents.push(doc);
    if (key) byKey.set(key, doc);
    effects.record(key);
    return answer(201, { id: doc.id });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e) => send(res, 500, { message: `sandbox failure: ${(e as Error).message}` }));
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const control: HttpJsonSandboxControl = {
    received: (path) => documents.filter((d) => path === undefined || d.path === path),
    failNext: (count, status, o = {}) => void injections.push({ remaining: count, status, options: o }),
    effects,
    posts,
    reset() {
      documents = [];
      byKey = new Map();
      injections = [];
      posts.length = 0;
      effects.reset();
    },
  };
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    control,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
