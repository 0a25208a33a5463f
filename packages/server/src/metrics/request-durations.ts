/** One sample line: name, labels, value. */
export interface Sample {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

interface Series {
  /** Observations per bucket (not cumulative; the last one is +Inf): together, the count. */
  counts: number[];
  sum: number;
}

/**
 * The request-duration histogram (method, route, status code), in the exposition format of a
 * prom-client Histogram. Observing is three map lookups and two additions: prom-client's own
 * Histogram builds, checks and hashes a label object on every observation, a visible part of a
 * small request's cost.
 */
export class RequestDurations {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  // method -> route -> status code -> series
  #series = new Map<string, Map<string, Map<number, Series>>>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
  ) {}

  observe(method: string, route: string, statusCode: number, seconds: number): void {
    let byRoute = this.#series.get(method);
    if (!byRoute) this.#series.set(method, (byRoute = new Map()));
    let byStatus = byRoute.get(route);
    if (!byStatus) byRoute.set(route, (byStatus = new Map()));
    let series = byStatus.get(statusCode);
    if (!series) byStatus.set(statusCode, (series = { counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0 }));
    let bucket = 0;
    while (bucket < this.buckets.length && seconds > this.buckets[bucket]!) bucket++;
    series.counts[bucket]! += 1;
    series.sum += seconds;
  }

  /** What a prom-client Registry renders. */
  get(): { name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: Sample[] } {
    const values: Sample[] = [];
    for (const [method, byRoute] of this.#series) {
      for (const [route, byStatus] of byRoute) {
        for (const [statusCode, series] of byStatus) {
          const labels = { method, route, status_code: String(statusCode) };
          let cumulative = 0;
          series.counts.forEach((n, i) => {
            cumulative += n;
            const le = i < this.buckets.length ? this.buckets[i]! : '+Inf';
            values.push({ metricName: `${this.name}_bucket`, labels: { le, ...labels }, value: cumulative });
          });
          values.push({ metricName: `${this.name}_sum`, labels, value: series.sum });
          values.push({ metricName: `${this.name}_count`, labels, value: cumulative });
        }
      }
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.#series.clear();
  }
}
