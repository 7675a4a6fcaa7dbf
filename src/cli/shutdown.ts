/** Runs `stop` once on SIGINT/SIGTERM, then exits. */
export function onShutdown(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`junction: ${signal}, shutting down\n`);
    stop().then(() => process.exit(0), (e) => { process.stderr.write(`junction: shutdown failed: ${e}\n`); process.exit(1); });
  };
  process.once('SIGINT', () => handler('SIGINT'));
  process.once('SIGTERM', () => handler('SIGTERM'));
}
