import type { Logger } from 'pino';

/** A background loop that can be stopped, waiting for the round under way. */
export interface Loop {
  stop(): Promise<void>;
}

export interface LoopOptions {
  name: string;
  /** Pause between rounds. */
  intervalMs: number;
  /** The pause varies by ± this fraction, so instances started together drift apart. */
  jitter?: number;
  logger: Logger;
  random?: () => number;
  /** Pause after a round that reported more work (default 0: at once). */
  busyIntervalMs?: number;
}

/**
 * Runs `round` again and again, one at a time, pausing between rounds; a round that reports
 * more work (`true`) is followed at once. A failing round is logged and the loop goes on.
 */
export function startLoop(options: LoopOptions, round: () => Promise<boolean | void>): Loop {
  const random = options.random ?? Math.random;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  const pause = () => Math.max(0, Math.round(options.intervalMs * (1 + (options.jitter ?? 0) * (2 * random() - 1))));
  const schedule = (ms: number): void => {
    if (stopped) return;
    timer = setTimeout(tick, ms);
    timer.unref();
  };
  const tick = () => {
    running = round().then(
      (more) => schedule(more === true ? (options.busyIntervalMs ?? 0) : pause()),
      (err: unknown) => {
        options.logger.warn({ err, loop: options.name }, 'background round failed');
        schedule(pause());
      },
    );
  };
  schedule(pause());
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
