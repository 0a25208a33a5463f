// Self time per request by function, from a .cpuprofile and the number of requests served while
// it was taken: node --import tsx bench/tools/per-request.ts <file.cpuprofile> <requests> [rows]
import { readFileSync } from 'node:fs';

const [file, requestsArg, rowsArg] = process.argv.slice(2);
const profile = JSON.parse(readFileSync(file!, 'utf8')) as {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
};
const requests = Number(requestsArg);
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<string, number>();
let busy = 0;
profile.samples.forEach((id, i) => {
  const frame = byId.get(id)!.callFrame;
  if (frame.functionName === '(idle)') return;
  const key = `${frame.functionName || '(anonymous)'} ${frame.url.replace(/^.*node_modules\//, '~/').replace(/^.*packages\//, '')}:${frame.lineNumber + 1}`;
  const t = profile.timeDeltas[i] ?? 0;
  busy += t;
  self.set(key, (self.get(key) ?? 0) + t);
});
console.log(`busy ${(busy / 1000).toFixed(0)} ms over ${requests} requests: ${(busy / requests).toFixed(2)} µs/request`);
for (const [key, t] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(rowsArg ?? 25))) console.log(`${(t / requests).toFixed(2).padStart(6)} µs  ${key}`);
