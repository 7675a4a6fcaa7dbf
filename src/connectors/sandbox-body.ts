/**
 * Request bodies for the connectors' sandbox servers: read whole, as UTF-8, refused past a size.
 * One reader for every sandbox; each says what "too large" means in its vendor's terms.
 */
import type { IncomingMessage } from 'http';

export interface SandboxBodyOptions {
  maxBytes: number;
  /** The error a body past maxBytes rejects with (the vendor's shape). */
  tooLarge?: () => Error;
  /** Drop the connection on overflow instead of reading on (default true). */
  destroy?: boolean;
}

export function readSandboxBody(req: IncomingMessage, opts: SandboxBodyOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= opts.maxBytes) {
        chunks.push(c);
        return;
      }
      reject(opts.tooLarge ? opts.tooLarge() : new Error(`request body larger than ${opts.maxBytes} bytes`));
      if (opts.destroy ?? true) req.destroy();
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
