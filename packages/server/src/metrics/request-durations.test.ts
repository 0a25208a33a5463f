import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { RequestDurations } from './request-durations.ts';

const BUCKETS = [0.005, 0.01, 0.1, 1];

describe('RequestDurations', () => {
  // the same lines; series may come in another order
  const lines = (text: string) => text.split('\n').sort();

  it('renders the lines a prom-client Histogram renders for the same observations', async () => {
    const ours = new Registry();
    const durations = new RequestDurations('req_seconds', 'Request duration', BUCKETS);
    ours.registerMetric(durations as unknown as Histogram);
    const theirs = new Registry();
    const histogram = new Histogram({ name: 'req_seconds', help: 'Request duration', labelNames: ['method', 'route', 'status_code'], buckets: BUCKETS, registers: [theirs] });

    const observations: [string, string, number, number][] = [
      ['GET', '/v1/accounts/:id', 200, 0.001],
      ['GET', '/v1/accounts/:id', 200, 0.005], // on a bucket's bound: counted in that bucket
      ['GET', '/v1/accounts/:id', 200, 0.3],
      ['GET', '/v1/accounts/:id', 404, 2], // above every bound: +Inf only
      ['POST', '/oauth/token', 401, 0.02],
      ['GET', 'a "quoted"\\route\n', 200, 0.01], // label values are escaped by the registry
    ];
    for (const [method, route, status, seconds] of observations) {
      durations.observe(method, route, status, seconds);
      histogram.observe({ method, route, status_code: String(status) }, seconds);
    }
    const text = await ours.metrics();
    expect(lines(text)).toEqual(lines(await theirs.metrics()));
    expect(text).toContain('req_seconds_bucket{le="0.005",method="GET",route="/v1/accounts/:id",status_code="200"} 2');
    expect(text).toContain('req_seconds_bucket{le="+Inf",method="GET",route="/v1/accounts/:id",status_code="404"} 1');
    expect(text).toContain('req_seconds_count{method="POST",route="/oauth/token",status_code="401"} 1');
  });

  it('starts again from nothing after reset', async () => {
    const registry = new Registry();
    const durations = new RequestDurations('req_seconds', 'Request duration', BUCKETS);
    registry.registerMetric(durations as unknown as Histogram);
    durations.observe('GET', '/healthz', 200, 0.001);
    registry.resetMetrics();
    expect(await registry.metrics()).not.toContain('req_seconds_count');
  });
});
