import { readFileSync } from 'fs';

/**
 * This process's peak resident set in KB. On Linux `VmHWM` of /proc/self/status: the high-water
 * mark of this process's own memory map. Not `process.resourceUsage().maxRSS`: Linux carries the
 * parent's RSS at fork time into the child's maxrss (the child starts as a copy of the parent),
 * so a child spawned by a bench that had just written a 1M-row workbook (361 MB) reported 361 MB
 * whatever it used itself.
 */
export function peakRssKb(): number {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]);
  } catch {
    // not Linux: fall through
  }
  return process.resourceUsage().maxRSS;
}
