// Keeps idle cores polling instead of halting while the bench runs, as tuned's latency-performance
// profile does: a process holding /dev/cpu_dma_latency open with 0 asks the kernel for wake-ups
// with no exit latency, and the kernel keeps that request only while the file is open.
//
// Why: the load generator sleeps between answers, and each answer wakes it. On a virtual machine,
// waking a halted virtual CPU makes the process that wrote the answer pay an exit to the
// hypervisor, about 10 µs of its CPU time here, which is more than a small answer costs. The
// slower a server, the more often the generator is asleep when an answer comes, so that cost fell
// hardest on the slower side of every comparison. It belongs to the loopback set-up, where client
// and server share one machine; a real server's clients are elsewhere.
import { closeSync, existsSync, openSync, writeSync } from 'node:fs';

const DEVICE = '/dev/cpu_dma_latency';

export interface IdleHold {
  /** What the run's note says about idle cores. */
  note: string;
  release(): void;
}

/** Holds idle cores out of halt until release() (or the bench's exit); BENCH_IDLE=halt leaves them be. */
export function holdCoresPolling(): IdleHold {
  if (process.env.BENCH_IDLE === 'halt') return { note: "idle cores: the machine's own idle policy (BENCH_IDLE=halt)", release() {} };
  if (!existsSync(DEVICE)) return { note: `idle cores: the machine's own idle policy (no ${DEVICE})`, release() {} };
  let fd: number | undefined;
  try {
    fd = openSync(DEVICE, 'w');
    writeSync(fd, Buffer.alloc(4)); // a 32-bit 0: no exit latency allowed
  } catch (error) {
    if (fd !== undefined) closeSync(fd);
    return { note: `idle cores: the machine's own idle policy (${DEVICE}: ${(error as NodeJS.ErrnoException).code ?? String(error)})`, release() {} };
  }
  const held = fd;
  return {
    note: `idle cores poll instead of halting (${DEVICE} held at 0 µs; BENCH_IDLE=halt to leave them be)`,
    release: () => closeSync(held),
  };
}
