import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { holdCoresPolling, type IdleHold } from '../lib/idle.ts';

const DEVICE = '/dev/cpu_dma_latency';
const canHold = existsSync(DEVICE) && process.getuid?.() === 0;

/** The wake-up latency (µs) the kernel currently grants, the strictest of all requests held. */
function grantedLatency(): number {
  const fd = openSync(DEVICE, 'r');
  try {
    const value = Buffer.alloc(4);
    readSync(fd, value);
    return value.readInt32LE();
  } finally {
    closeSync(fd);
  }
}

describe('holding idle cores out of halt', () => {
  let hold: IdleHold | undefined;
  const saved = process.env.BENCH_IDLE;
  afterEach(() => {
    hold?.release();
    hold = undefined;
    if (saved === undefined) delete process.env.BENCH_IDLE;
    else process.env.BENCH_IDLE = saved;
  });

  it.runIf(canHold)('asks the kernel for 0 µs wake-ups while held, and gives the request back on release', () => {
    const before = grantedLatency();
    delete process.env.BENCH_IDLE;
    hold = holdCoresPolling();
    expect(hold.note).toMatch(/poll instead of halting/);
    expect(grantedLatency()).toBe(0);
    hold.release();
    hold = undefined;
    expect(grantedLatency()).toBe(before);
  });

  it('BENCH_IDLE=halt leaves the idle policy alone and says so', () => {
    const before = canHold ? grantedLatency() : undefined;
    process.env.BENCH_IDLE = 'halt';
    hold = holdCoresPolling();
    expect(hold.note).toMatch(/machine's own idle policy/);
    if (canHold) expect(grantedLatency()).toBe(before);
  });
});
