// Self time per request by function, from a .cpuprofile and the number of requests served while
// it was taken: node --import tsx bench/tools/per-request.ts <file.cpuprofile> <requests> [rows] [seconds]
// With seconds, only the profile's last that many seconds count (the load, not the start-up).
import { readFileSync } from 'node:fs';

const [file, requestsArg, rowsArg, secondsArg] = process.argv.slice(2);
const profile = JSON.parse(readFileSync(file!, 'utf8')) as {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
  endTime: number;
};
const requests = Number(requestsArg);
const from = secondsArg === undefined ? -Infinity : profile.endTime - Number(secondsArg) * 1e6;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<string, number>();
const byPackage = new Map<string, number>();
let busy = 0;
let at = profile.endTime - profile.timeDeltas.reduce((a, b) => a + b, 0);
profile.samples.forEach((id, i) => {
  const t = profile.timeDeltas[i] ?? 0;
  at += t;
  const frame = byId.get(id)!.callFrame;
  if (at < from || frame.functionName === '(idle)') return;
  const key = `${frame.functionName || '(anonymous)'} ${frame.url.replace(/^.*node_modules\//, '~/').replace(/^.*packages\//, '')}:${frame.lineNumber + 1}`;
  busy += t;
  self.set(key, (self.get(key) ?? 0) + t);
  const where = frame.url.includes('node_modules/')
    ? `~/${frame.url.replace(/^.*node_modules\//, '').replace(/^((?:@[^/]+\/)?[^/]+).*$/, '$1')}`
    : frame.url.startsWith('node:') ? 'node' : frame.url === '' ? '(native, GC, program)' : 'gatehouse';
  byPackage.set(where, (byPackage.get(where) ?? 0) + t);
});
console.log(`busy ${(busy / 1000).toFixed(0)} ms over ${requests} requests: ${(busy / requests).toFixed(2)} µs/request`);
console.log([...byPackage].sort((a, b) => b[1] - a[1]).map(([k, t]) => `${k} ${(t / requests).toFixed(1)}`).join(' · '));
for (const [key, t] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(rowsArg ?? 25))) console.log(`${(t / requests).toFixed(2).padStart(6)} µs  ${key}`);
