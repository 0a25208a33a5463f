import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';

/** How often the background thread checkpoints the WAL into the database file. */
export const CHECKPOINT_INTERVAL_MS = 1000;
/** Past this many WAL pages the writer checkpoints itself, in case the thread falls behind or dies. */
export const FALLBACK_AUTOCHECKPOINT_PAGES = 20_000;

// Plain CommonJS, evaluated in the worker: its own connection to the same file, PASSIVE
// checkpoints (never blocking the server's writes or reads) on a timer.
const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const SQLite = require(workerData.driver);
const db = new SQLite(workerData.path);
db.pragma('busy_timeout = 5000');
const timer = setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch { /* busy: next time */ }
}, workerData.intervalMs);
parentPort.on('message', () => { clearInterval(timer); db.close(); process.exit(0); });
`;

/**
 * Moves WAL checkpoints (which fsync the database file) off the event loop: a worker thread
 * checkpoints every CHECKPOINT_INTERVAL_MS, and the server's own connection checkpoints only past
 * FALLBACK_AUTOCHECKPOINT_PAGES. Commits stay exactly as durable as before: a transaction is
 * durable once in the WAL, which is what SQLite's WAL mode promises with either setting.
 */
export function startCheckpointer(database: { pragma(source: string): unknown }, path: string): { stop(): Promise<void> } {
  database.pragma(`wal_autocheckpoint = ${FALLBACK_AUTOCHECKPOINT_PAGES}`);
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path, driver, intervalMs: CHECKPOINT_INTERVAL_MS } });
  worker.unref();
  // a checkpointer that cannot run leaves the fallback in charge; the server keeps working
  worker.on('error', () => database.pragma('wal_autocheckpoint = 1000'));
  return {
    async stop() {
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.postMessage('stop');
      const timeout = setTimeout(() => void worker.terminate(), 2000);
      await exited;
      clearTimeout(timeout);
    },
  };
}
