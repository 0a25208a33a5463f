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
  /** The batch came back full of work: the next round follows soon. */
  more: boolean;
}

const marginMs = (services: Services, provider: string) =>
  (services.catalog.get(provider)?.refreshMarginSeconds ?? DEFAULT_REFRESH_MARGIN_SECONDS) * 1000;

/** The largest refresh margin any provider asks for, so no expiring account is missed. */
function horizonMs(services: Services): number {
  return Math.max(DEFAULT_REFRESH_MARGIN_SECONDS * 1000, ...services.catalog.list().map((entry) => marginMs(services, entry.id)));
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
    // within the widest margin but not yet within its own provider's: a later round's
    const queue = due.filter((d) => isIdle(d, idleBefore) || (d.expires_at !== null && d.expires_at - now <= marginMs(services, d.provider)));
    const worker = async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const ok = await refreshOne(services, next, idleBefore, options.timeoutMs);
        if (ok) refreshed++;
        else failed++;
      }
    };
    const picked = queue.length;
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, picked) }, worker));
    const more = picked > 0 && due.length === (options.batchSize ?? refresher.batchSize);
    return { ran: true, refreshed, failed, picked, more };
  });
  return round ?? { ran: false, refreshed: 0, failed: 0, picked: 0, more: false };
}

const isIdle = (due: DueAccount, idleBefore: number | null) => idleBefore !== null && due.updated_at <= idleBefore;

async function refreshOne(services: Services, due: DueAccount, idleBefore: number | null, timeoutMs: number | undefined): Promise<boolean> {
  // an idle refresh token is exercised even though its access token is not expiring
  const keepAlive = isIdle(due, idleBefore);
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
    return round.more;
  });
}
