import { describe, expect, it } from 'vitest';
import { parseWrk, roundOrder } from '../lib/load.ts';
import { formatTable, judge, median, pairedRatio, type CaseResult } from '../lib/table.ts';

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

  it('takes the ratio round by round, the median of the pairs, when the rounds are known', () => {
    // the machine ran at half speed for rounds 2 and 3: both sides alike
    const samples = { gatehouse: [36_000, 18_500, 17_000, 35_000, 34_000], baseline: [50_000, 25_000, 24_000, 50_000, 49_000] };
    const judged = judge({ ...verify, gatehouse: 34_000, baseline: 49_000, samples });
    // pairs 0.72, 0.74, 0.708, 0.70, 0.694: the median is 0.708, although 36,000 / 50,000 (the best rounds) is 0.72
    expect(judged.ratio).toBeCloseTo(17_000 / 24_000, 6);
    expect(judged.pass).toBe(true);
    expect(judge({ ...verify, samples: { gatehouse: [30_000, 40_000], baseline: [50_000, 50_000] } }).ratio).toBeCloseTo(0.7, 6);
    expect(pairedRatio([1, 2], [0, 0])).toBeNaN();
    // rounds that do not pair up fall back to the two figures
    expect(judge({ ...verify, samples: { gatehouse: [1], baseline: [1, 2] } }).ratio).toBe(0.7);
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
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

  it('runs the reference in the middle of each round, so that each other target runs next to it', () => {
    const keys = ['baseline', 'sqlite', 'postgres'];
    expect(roundOrder(keys, 0, 'baseline')).toEqual(['sqlite', 'baseline', 'postgres']);
    expect(roundOrder(keys, 1, 'baseline')).toEqual(['postgres', 'baseline', 'sqlite']);
    expect(roundOrder(['small', 'large'], 0)).toEqual(['small', 'large']);
    expect(roundOrder(['small', 'large'], 1)).toEqual(['large', 'small']);
    expect(roundOrder(['A', 'B', 'C', 'baseline'], 0, 'baseline')).toEqual(['A', 'B', 'baseline', 'C']);
  });
});
