import http, { IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import { promisify } from 'node:util';
import zlib from 'node:zlib';

/**
 * The common exchange (no body or a JSON body, a text/JSON answer, no proxy) sent straight with
 * node:http. axios costs ~4× the CPU of the exchange itself per request (config merging, header
 * objects, transform chains); connectors send tens of thousands of these. Everything else (form
 * or binary bodies, arraybuffer answers, proxies from the environment) still goes through axios.
 * The wire stays what axios sends and the results what axios returns: same query encoding, same
 * headers (Accept-Encoding included, bodies decompressed), BOM stripped, maxContentLength, no
 * redirects followed, the global keep-alive agents.
 */

/** Code of the TransportError for a request that ran out of time. */
export const DEADLINE_EXCEEDED = 'JUNCTION_DEADLINE_EXCEEDED';

/** What axios 1.x advertises (node has brotli). */
export const ACCEPT_ENCODING = 'gzip, compress, deflate, br';

/** Every failure of the direct path but the caller's abort (as AxiosError: a code when there is one). */
export class TransportError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'TransportError';
  }

  static from(err: unknown): TransportError {
    if (err instanceof TransportError) return err;
    const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown };
    // Not `instanceof Error`: node's own errors may come from another realm (jest).
    return new TransportError(typeof message === 'string' ? message : String(err), typeof code === 'string' ? code : undefined);
  }
}

export interface DirectRequest {
  method: string;
  /** Full URL (base joined with the path as axios joins them); params are added after parsing it, as axios does. */
  url: string;
  params?: Record<string, string | number | boolean | null | undefined>;
  /** Header names as given; case-insensitive duplicates already merged. */
  headers: Record<string, string>;
  body?: Buffer;
  /** The caller's; its abort rejects with its reason. */
  signal?: AbortSignal;
  /** Whole exchange, connect to last body byte; then a TransportError with code DEADLINE_EXCEEDED. */
  timeoutMs: number;
  maxContentLength: number;
}

export interface DirectResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** utf8 text, BOM stripped (axios' `responseType: 'text'`). */
  data: string;
}

/** Can `data` go through the direct path? axios turns plain objects and arrays into JSON. */
export function isJsonBody(data: unknown): boolean {
  if (data === undefined) return true;
  if (Array.isArray(data)) return true;
  if (data === null || typeof data !== 'object') return false;
  const proto = Object.getPrototypeOf(data);
  return (proto === Object.prototype || proto === null) && !(Symbol.toStringTag in data) && !(Symbol.iterator in data);
}

/** axios' proxy-from-env inputs; when any is set, requests go through axios (which honours them). */
export function envProxyConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  return ['http_proxy', 'https_proxy', 'all_proxy', 'NODE_USE_ENV_PROXY'].some((k) => !!(env[k.toLowerCase()] || env[k.toUpperCase()]));
}

/** axios' buildURL encoding of a query value. */
function encode(val: string): string {
  return encodeURIComponent(val).replace(/%3A/gi, ':').replace(/%24/g, '$').replace(/%2C/gi, ',').replace(/%20/g, '+');
}

/** `url` + params serialised as axios does (null/undefined skipped, fragment dropped when params are added). */
export function buildUrl(url: string, params?: Record<string, string | number | boolean | null | undefined>): string {
  if (!params) return url;
  let query = '';
  for (const key of Object.keys(params)) {
    const v = params[key];
    if (v === undefined || v === null) continue;
    query += `${query ? '&' : ''}${encode(key)}=${encode(String(v))}`;
  }
  if (!query) return url;
  const hash = url.indexOf('#');
  const base = hash < 0 ? url : url.slice(0, hash);
  return base + (base.includes('?') ? '&' : '?') + query;
}

const TCP_KEEPALIVE = Symbol('junction.tcpKeepAlive');
const CURRENT_REQUEST = Symbol('junction.currentRequest');
type PooledSocket = import('node:net').Socket & { [TCP_KEEPALIVE]?: boolean; [CURRENT_REQUEST]?: http.ClientRequest };

function onSocketError(this: PooledSocket, err: Error): void {
  const current = this[CURRENT_REQUEST];
  if (current && !current.destroyed) current.destroy(err);
}

const inflate = promisify(zlib.unzip);
const inflateRaw = promisify(zlib.inflateRaw);
const brotli = promisify(zlib.brotliDecompress);
const ZLIB_OPTIONS = { finishFlush: zlib.constants.Z_SYNC_FLUSH };
const BROTLI_OPTIONS = { finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH };

export function sendDirect(req: DirectRequest): Promise<DirectResponse> {
  return new Promise<DirectResponse>((resolve, reject) => {
    const { signal } = req;
    let settled = false;
    const settle = () => {
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const fail = (err: unknown) => {
      if (settled) return;
      settle();
      reject(signal?.aborted && err === signal.reason ? err : TransportError.from(err));
    };
    const done = (res: DirectResponse) => {
      if (settled) return;
      settle();
      resolve(res);
    };
    const stop = (reason: unknown) => {
      if (settled) return;
      fail(reason);
      request?.destroy();
    };
    const onAbort = () => stop(signal!.reason);
    const timer = setTimeout(() => stop(new TransportError(`no complete response within ${req.timeoutMs} ms`, DEADLINE_EXCEEDED)), req.timeoutMs);
    let url: URL;
    try {
      url = new URL(req.url);
    } catch (err) {
      return fail(err);
    }
    const transport = url.protocol === 'https:' ? https : http;
    const headers = req.body ? { ...req.headers, 'Content-Length': String(req.body.length) } : req.headers;
    const options = {
      protocol: url.protocol,
      hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
      port: url.port,
      path: buildUrl(url.pathname + url.search, req.params),
      method: req.method,
      headers,
    };
    let request: http.ClientRequest | undefined;
    try {
      request = transport.request(options, onResponse);
    } catch (err) {
      return fail(err);
    }
    function onResponse(res: http.IncomingMessage) {
      const chunks: Buffer[] = [];
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        bytes += chunk.length;
        if (bytes > req.maxContentLength) {
          fail(new TransportError(`maxContentLength size of ${req.maxContentLength} exceeded`, 'ERR_BAD_RESPONSE'));
          res.destroy(); // after fail: destroying emits 'aborted'
          request?.destroy();
        }
      });
      res.on('aborted', () => fail(new TransportError('stream has been aborted', 'ERR_BAD_RESPONSE')));
      res.on('error', fail);
      res.on('end', () => {
        const raw = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
        decode(raw, res.headers, req.method, res.statusCode ?? 0, req.maxContentLength).then((body) => {
          let text = body.toString('utf8');
          if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
          done({ status: res.statusCode ?? 0, headers: res.headers, data: text });
        }, fail);
      });
    }
    request.on('error', fail);
    request.on('socket', (socket) => {
      // As axios does, once per pooled socket: TCP keep-alive probes every minute, and an error
      // listener that hands a socket error to the request using it (none may be listening).
      const s = socket as PooledSocket;
      if (!s[TCP_KEEPALIVE]) {
        if (typeof s.setKeepAlive === 'function') s.setKeepAlive(true, 60_000);
        s.on('error', onSocketError);
        s[TCP_KEEPALIVE] = true;
      }
      s[CURRENT_REQUEST] = request;
      request.once('close', () => {
        if (s[CURRENT_REQUEST] === request) s[CURRENT_REQUEST] = undefined;
      });
    });
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    request.end(req.body);
  });
}

/** Decompresses as axios does (and drops content-encoding when it did), within maxContentLength. */
async function decode(raw: Buffer, headers: IncomingHttpHeaders, method: string, status: number, max: number): Promise<Buffer> {
  const encoding = headers['content-encoding'];
  if (!encoding) return raw;
  if (method === 'HEAD' || status === 204) {
    delete headers['content-encoding'];
    return raw;
  }
  const limits = { maxOutputLength: Math.max(1, Math.min(max + 1, 2 ** 32)) };
  let out: Buffer;
  try {
    switch (encoding.toLowerCase()) {
      case 'gzip':
      case 'x-gzip':
      case 'compress':
      case 'x-compress':
        out = await inflate(raw, { ...ZLIB_OPTIONS, ...limits });
        break;
      case 'deflate':
        // Raw deflate (no zlib header) is common; axios adds the header, inflateRaw reads it as is.
        out = raw.length && (raw[0] & 0x0f) !== 8 ? await inflateRaw(raw, { ...ZLIB_OPTIONS, ...limits }) : await inflate(raw, { ...ZLIB_OPTIONS, ...limits });
        break;
      case 'br':
        out = await brotli(raw, { ...BROTLI_OPTIONS, ...limits });
        break;
      default:
        return raw;
    }
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') throw new TransportError(`maxContentLength size of ${max} exceeded`, 'ERR_BAD_RESPONSE');
    throw err;
  }
  if (out.length > max) throw new TransportError(`maxContentLength size of ${max} exceeded`, 'ERR_BAD_RESPONSE');
  delete headers['content-encoding'];
  return out;
}
