/**
 * Express wiring of `POST /webhooks/:connector`: the body is read raw (signatures are over the
 * exact bytes) with the instance's size cap, then handed to WebhookService. No API key: each
 * sender proves itself per connector instance (src/webhooks/verify.ts).
 */
import express from 'express';
import type { Request, Response } from 'express';
import { ErrorCode } from '../errors/codes';
import { logger } from '../logging/logger';
import { WebhookError, webhookError } from './errors';
import { errorResponse, WebhookService } from './service';

export function createWebhookRouter(service: WebhookService): express.Router {
  const router = express.Router();
  router.post('/:connector', async (req: Request, res: Response) => {
    const connector = String(req.params.connector);
    const soap = /^\s*text\/xml/i.test(req.headers['content-type'] ?? '');
    const send = (r: { status: number; contentType: string; body: string }) => {
      res.status(r.status).type(r.contentType).send(r.body);
    };
    try {
      const { entry } = service.target(connector);
      const body = await readBody(req, entry.webhook.maxBytes);
      const headers: Record<string, string | undefined> = {};
      for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
      send(await service.handle({ connector, headers, query: req.query as Record<string, unknown>, contentType: req.headers['content-type'], body }));
    } catch (e) {
      if (e instanceof WebhookError) {
        logger.warn('webhook refused', { connector: connector.slice(0, 64), code: e.code, status: e.status, message: e.message });
        if (e.code === ErrorCode.WEBHOOK_TOO_LARGE) {
          // Stop reading a body we refuse; the connection closes after the answer.
          res.setHeader('Connection', 'close');
          req.unpipe();
          req.resume();
        }
        return send(errorResponse(e, soap));
      }
      logger.error('webhook failed', { connector: connector.slice(0, 64), message: e instanceof Error ? e.message : String(e) });
      // Nothing was committed: the sender's retry is the recovery.
      send(errorResponse(webhookError(ErrorCode.INTERNAL_SERVER_ERROR, 'The push could not be processed; nothing was stored, send it again'), soap));
    }
  });
  return router;
}

/** The raw body, refused with WEBHOOK_TOO_LARGE past `limit` bytes (by Content-Length, or while reading). */
function readBody(req: Request, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  const tooLarge = () => webhookError(ErrorCode.WEBHOOK_TOO_LARGE, `The body is larger than this connector's webhook.maxBytes (${limit} bytes)`, { limit });
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => { if (!done) { done = true; resolve(Buffer.concat(chunks)); } });
    req.on('error', (e) => { if (!done) { done = true; reject(e); } });
  });
}
