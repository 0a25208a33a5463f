import { Counter, Gauge, Registry, type Histogram } from 'prom-client';
import { RequestDurations } from './request-durations.ts';

/**
 * Gatehouse's Prometheus metrics. Each owner (one Services, i.e. one app instance) has a
 * Registry of its own, never prom-client's global one, so several instances can live in one
 * process (tests) without sharing or clashing.
 */
export interface Metrics {
  registry: Registry;
  httpDuration: RequestDurations;
  tokensIssued: Counter<'grant_type'>;
  accounts: Gauge<'status'>;
  /** Declared ahead of the feature: stays at 0 until upstream token refresh counts into it. */
  refresh: Counter<'outcome'>;
  /** Declared ahead of the feature: stays at 0 until webhook delivery counts into it. */
  webhookDeliveries: Counter<'outcome'>;
}

/** Counts of accounts by status, read when /metrics is scraped. */
export type AccountCounter = () => Promise<{ status: string; count: number }[]>;

const owners = new WeakMap<object, Metrics>();
const counters = new WeakMap<Metrics, AccountCounter>();

function createMetrics(): Metrics {
  const registry = new Registry();
  const metrics: Metrics = {
    registry,
    httpDuration: new RequestDurations(
      'gatehouse_http_request_duration_seconds',
      'HTTP request duration by method, route pattern and status code',
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    ),
    tokensIssued: new Counter({
      name: 'gatehouse_tokens_issued_total',
      help: 'Access tokens issued by the token endpoint, by grant type',
      labelNames: ['grant_type'],
      registers: [registry],
    }),
    accounts: new Gauge({
      name: 'gatehouse_accounts',
      help: 'Connected accounts by status',
      labelNames: ['status'],
      registers: [registry],
      async collect() {
        const count = counters.get(metrics);
        if (!count) return;
        const rows = await count();
        this.reset();
        for (const { status, count: n } of rows) this.set({ status }, n);
      },
    }),
    refresh: new Counter({
      name: 'gatehouse_refresh_total',
      help: 'Upstream token refreshes by outcome',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    webhookDeliveries: new Counter({
      name: 'gatehouse_webhook_deliveries_total',
      help: 'Webhook deliveries by outcome',
      labelNames: ['outcome'],
      registers: [registry],
    }),
  };
  // rendered by the registry like any of prom-client's own metrics (it asks for name, get() and reset())
  registry.registerMetric(metrics.httpDuration as unknown as Histogram);
  return metrics;
}

/** The metrics of one owner (pass the Services object), created on first use. */
export function metricsFor(owner: object): Metrics {
  let metrics = owners.get(owner);
  if (!metrics) {
    metrics = createMetrics();
    owners.set(owner, metrics);
  }
  return metrics;
}

/** Sets how the accounts gauge is read on scrape. */
export function setAccountCounter(metrics: Metrics, count: AccountCounter): void {
  counters.set(metrics, count);
}
