import { GatehouseError } from '../errors.ts';
import { startLoop, type Loop } from '../loop.ts';
import type { Services } from '../services.ts';
import { CLUSTER_LOCKS, dueForRefresh, withClusterLock, type DueAccount } from '../store/index.ts';
import { DEFAULT_REFRESH_MARGIN_SECONDS, freshAccessToken } from './fresh-token.ts';

export const REFRESHER_BATCH = 20;
/** Refreshes running at once within a round (each holds a pool connection on PostgreSQL). */
const CONCURRENCY = 4;

export interface RefresherOptions {
  /** Accounts per round; default the config's. */
  batchSize?: number;
  /** The upstream call's time limit (tests shorten it). */
  timeoutMs?: number;
}

export interface RefresherRound {
  /** False when another instance held the round's lock. */
  ran: boolean;
  refreshed: number;
  failed: number;
  /** Accounts picked this round. */
  picked: number;
}

/** The largest refresh margin any provider asks for, so no expiring account is missed. */
function horizonMs(services: Services): number {
  const margins = services.catalog.list().map((entry) => entry.refreshMarginSeconds ?? DEFAULT_REFRESH_MARGIN_SECONDS);
  return Math.max(DEFAULT_REFRESH_MARGIN_SECONDS, ...margins) * 1000;
}

/**
 * One round of background refresh, once cluster-wide: picks a batch of accounts whose token
 * expires soon (or whose refresh token has been idle past the keep-alive age) and refreshes each
 * through freshAccessToken, so its row lock, single-flight and backoff rules apply.
 */
export async function refreshDueAccounts(services: Services, options: RefresherOptions = {}): Promise<RefresherRound> {
  const { refresher, database } = services.config;
  const round = await withClusterLock(services.db, database.kind === 'postgres', CLUSTER_LOCKS.refresher, async () => {
    const now = services.clock();
    const idleBefore = refresher.keepAliveMs > 0 ? now - refresher.keepAliveMs : null;
    const due = await dueForRefresh(services.db, {
      now,
      expiringBefore: now + horizonMs(services),
      idleBefore,
      limit: options.batchSize ?? refresher.batchSize,
    });
    let refreshed = 0;
    let failed = 0;
    const queue = [...due];
    const worker = async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const ok = await refreshOne(services, next, idleBefore, options.timeoutMs);
        if (ok) refreshed++;
        else failed++;
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, due.length) }, worker));
    return { ran: true, refreshed, failed, picked: due.length };
  });
  return round ?? { ran: false, refreshed: 0, failed: 0, picked: 0 };
}

async function refreshOne(services: Services, due: DueAccount, idleBefore: number | null, timeoutMs: number | undefined): Promise<boolean> {
  // an idle refresh token is exercised even though its access token is not expiring
  const keepAlive = idleBefore !== null && due.updated_at <= idleBefore;
  try {
    await freshAccessToken(services, due.app_id, due.account_id, { force: keepAlive, timeoutMs });
    return true;
  } catch (err) {
    // the failure is recorded on the account (backoff, needs_reauth) and counted; the round goes on
    if (!(err instanceof GatehouseError)) services.logger.warn({ err, account: due.account_id }, 'background refresh failed');
    return false;
  }
}

/**
 * Runs refresh rounds every `config.refresher.intervalMs` (jittered) until stopped, a second
 * apart while batches come back full; undefined when turned off.
 */
export function startRefresher(services: Services, options: RefresherOptions = {}): Loop | undefined {
  const { intervalMs } = services.config.refresher;
  if (intervalMs <= 0) return undefined;
  return startLoop({ name: 'refresher', intervalMs, jitter: 0.2, busyIntervalMs: 1000, logger: services.logger }, async () => {
    const round = await refreshDueAccounts(services, options);
    return round.ran && round.picked === (options.batchSize ?? services.config.refresher.batchSize) && round.refreshed > 0;
  });
}
