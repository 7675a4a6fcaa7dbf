/**
 * Bull Board (queue dashboard) at /admin/queues, for admin API keys only: `Authorization: Bearer
 * <key>`, or HTTP Basic with the key as password (any user name) so a browser can log in. The
 * queues (write-back and sync) are opened on the first authorized request, so a gateway nobody
 * opens the board on never connects to Redis for it.
 */
import express from 'express';
import type { NextFunction, Request, Response, Router } from 'express';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import type { ApiKeyVerifier } from '../auth/api-keys';
import { roleAllows, Role } from '../auth/roles';

export const BOARD_PATH = '/admin/queues';

function keyOf(req: Request): string | null {
  const h = req.headers.authorization ?? '';
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(h);
  if (bearer) return bearer[1];
  const basic = /^Basic\s+(\S+)\s*$/i.exec(h);
  if (!basic) return null;
  const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  return i >= 0 ? decoded.slice(i + 1) : null;
}

export function createBoardRouter(verifier: ApiKeyVerifier, queues: () => Queue[]): Router {
  const router = express.Router();
  let board: Router | null = null;
  router.use(async (req: Request, res: Response, next: NextFunction) => {
    const key = keyOf(req);
    const auth = key ? await verifier.verify(key).catch(() => null) : null;
    if (!auth) {
      res.setHeader('WWW-Authenticate', 'Basic realm="Junction admin", charset="UTF-8"');
      res.status(401).json({ error: 'UNAUTHENTICATED', message: 'Send an admin API key (Bearer, or Basic with the key as password)' });
      return;
    }
    if (!roleAllows(auth.role, [Role.ADMIN])) {
      res.status(403).json({ error: 'FORBIDDEN', message: `The ${auth.role} key "${auth.name}" may not open the queue dashboard (needs admin)` });
      return;
    }
    if (!board) {
      const adapter = new ExpressAdapter();
      adapter.setBasePath(BOARD_PATH);
      createBullBoard({ queues: queues().map((q) => new BullMQAdapter(q, { readOnlyMode: false })), serverAdapter: adapter });
      board = adapter.getRouter() as Router;
    }
    board(req, res, next);
  });
  return router;
}
