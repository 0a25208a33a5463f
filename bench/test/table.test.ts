import { describe, expect, it } from 'vitest';
import { parseWrk } from '../lib/load.ts';
import { formatTable, judge, type CaseResult } from '../lib/table.ts';

// The bench itself is not run by `npm test` (no timed assertions); its pure pieces are.
describe('bench result table', () => {
  const verify: CaseResult = {
    name: 'verify',
    unit: 'rps',
    gatehouse: 35_000,
    baseline: 50_000,
    baselineName: 'bare Fastify',
    target: { kind: 'ratio-at-least', value: 0.7 },
    errors: { gatehouse: 0, baseline: 0 },
    cpu: { gatehouse: 20, baseline: 14 },
  };

  it('judges ratios, bounds and exact counts', () => {
    expect(judge(verify)).toMatchObject({ ratio: 0.7, pass: true });
    expect(judge({ ...verify, gatehouse: 34_000 }).pass).toBe(false);
    expect(judge({ ...verify, unit: 'ms', target: { kind: 'ratio-at-most', value: 2 }, gatehouse: 0.3, baseline: 0.1 }).pass).toBe(false);
    expect(judge({ ...verify, unit: 'MB', gatehouse: 180, baseline: null, target: { kind: 'value-below', value: 250 } })).toMatchObject({ ratio: null, pass: true });
    const storm: CaseResult = {
      name: 'refresh storm',
      unit: 'refreshes',
      gatehouse: 1,
      baseline: null,
      baselineName: '',
      target: { kind: 'exactly', value: 1, also: { label: 'failed', value: 0 } },
      extra: { label: 'failed', value: 0 },
    };
    expect(judge(storm).pass).toBe(true);
    expect(judge({ ...storm, extra: { label: 'failed', value: 3 } }).pass).toBe(false);
  });

  it('fails a case whose load saw errors, whatever its ratio', () => {
    expect(judge({ ...verify, errors: { gatehouse: 12, baseline: 0 } }).pass).toBe(false);
  });

  it('prints one aligned Markdown table', () => {
    const table = formatTable([judge(verify), judge({ ...verify, name: 'verify (postgres)', gatehouse: 20_000 })]);
    const lines = table.split('\n');
    expect(lines).toHaveLength(4);
    expect(new Set(lines.map((l) => [...l].length)).size).toBe(1);
    expect(lines[2]).toContain('| verify ');
    expect(lines[2]).toContain('35,000 rps');
    expect(lines[2]).toContain('0.70×');
    expect(lines[2]).toContain('PASS');
    expect(lines[3]).toContain('FAIL');
  });

  it('reads the summary line the wrk script prints', () => {
    const output = 'Running 5s test\nBENCH_JSON {"requests":1000,"duration_us":2000000,"errors":{"connect":0,"read":1,"write":0,"status":2,"timeout":0},"latency_us":{"p50":100,"p90":200,"p99":300,"mean":110.5,"max":900}}\n';
    expect(parseWrk(output)).toEqual({ rps: 500, requests: 1000, errors: 3, latencyUs: { p50: 100, p90: 200, p99: 300, mean: 110.5, max: 900 } });
  });
});
