/**
 * Effects a sandbox applied, counted by idempotency key: the fault suite and the benchmark read
 * them to find lost writes (a key never applied) and duplicated ones (a key applied twice).
 * Sandboxes expose it in process (`control.effects`) and over HTTP (`GET /__sandbox/effects`)
 * for checkers in another process.
 */
import type { IncomingMessage, ServerResponse } from 'http';

export const EFFECTS_PATH = '/__sandbox/effects';

export class EffectCounter {
  private readonly byKey = new Map<string, number>();
  /** When each key was first applied (epoch ms): commit-to-effect latency. */
  private readonly firstAt = new Map<string, number>();

  record(key: string | null | undefined): void {
    if (!key) return;
    this.byKey.set(key, (this.byKey.get(key) ?? 0) + 1);
    if (!this.firstAt.has(key)) this.firstAt.set(key, Date.now());
  }

  count(key: string): number {
    return this.byKey.get(key) ?? 0;
  }

  /** Keys applied more than once. */
  duplicates(): string[] {
    return [...this.byKey].filter(([, n]) => n > 1).map(([k]) => k);
  }

  snapshot(): { total: number; keys: number; counts: Record<string, number>; firstAt: Record<string, number> } {
    let total = 0;
    for (const n of this.byKey.values()) total += n;
    return { total, keys: this.byKey.size, counts: Object.fromEntries(this.byKey), firstAt: Object.fromEntries(this.firstAt) };
  }

  reset(): void {
    this.byKey.clear();
    this.firstAt.clear();
  }

  /** Answers `GET /__sandbox/effects` (true when it did). */
  serve(req: IncomingMessage, res: ServerResponse): boolean {
    if ((req.url ?? '').split('?')[0] !== EFFECTS_PATH) return false;
    req.resume();
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(this.snapshot()));
    return true;
  }
}
