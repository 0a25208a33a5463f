// What every case needs: the run's timing settings and a place to record Gatehouse processes' RSS.
import type { Service } from './processes.ts';

export interface RunSettings {
  quick: boolean;
  /** Seconds of each measured run, and of the warm-up before a target's first run. */
  seconds: number;
  warmup: number;
  /** Alternating rounds per comparison; ratios are taken round by round (judge in table.ts). */
  rounds: number;
  /** Connections for the throughput cases. */
  connections: number;
  /** Accounts and tokens stored in the "grown" database of the growth case, and in the small one. */
  growthRows: number;
  growthBaseRows: number;
  /** Concurrent proxy calls of the refresh storm. */
  stormCalls: number;
}

export function settingsFor(quick: boolean): RunSettings {
  return quick
    ? { quick, seconds: 2, warmup: 1, rounds: 1, connections: 50, growthRows: 100_000, growthBaseRows: 1_000, stormCalls: 1_000 }
    : { quick, seconds: 2, warmup: 2, rounds: 8, connections: 50, growthRows: 1_000_000, growthBaseRows: 1_000, stormCalls: 1_000 };
}

/** Every Gatehouse process of the run, polled for its peak RSS (VmHWM) before it stops. */
export const gatehouses = new Set<Service>();
export const gatehouseRss = new Map<string, number>();

export function trackGatehouse(service: Service): Service {
  gatehouses.add(service);
  return service;
}

/** Stops a Gatehouse process, keeping its peak RSS for the memory row. */
export async function stopGatehouse(service: Service): Promise<void> {
  const before = service.peakRss();
  await service.stop();
  const peak = service.peakRss() ?? before;
  if (peak !== undefined) gatehouseRss.set(service.name, peak);
  gatehouses.delete(service);
}

export function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}
