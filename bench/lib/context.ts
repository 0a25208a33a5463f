// What every case needs: the run's timing settings and a place to record Gatehouse processes' RSS.
import type { Service } from './processes.ts';

export interface RunSettings {
  quick: boolean;
  /** Seconds of each measured run, and of the warm-up before it. */
  seconds: number;
  warmup: number;
  /** Connections for the throughput cases. */
  connections: number;
  /** Accounts and tokens stored in the "grown" database of the growth case. */
  growthRows: number;
  growthBaseRows: number;
}

export function settingsFor(quick: boolean): RunSettings {
  return quick
    ? { quick, seconds: 3, warmup: 1, connections: 50, growthRows: 100_000, growthBaseRows: 1_000 }
    : { quick, seconds: 8, warmup: 3, connections: 50, growthRows: 1_000_000, growthBaseRows: 1_000 };
}

/** Peak RSS (VmHWM) of every Gatehouse process of the run, by name, in bytes. */
export const gatehouseRss = new Map<string, number>();

/** Stops a Gatehouse process, keeping its peak RSS for the memory row. */
export async function stopGatehouse(service: Service): Promise<void> {
  await service.stop();
  const peak = service.peakRss();
  if (peak !== undefined) gatehouseRss.set(service.name, peak);
}

export function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}
