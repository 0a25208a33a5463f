// Summarises a .cpuprofile (node --cpu-prof): self time by function, and total time by file.
// Usage: node --import tsx bench/tools/cpuprofile-top.ts <file.cpuprofile> [rows]
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, rowsArg] = process.argv.slice(2);
if (!file) throw new Error('usage: cpuprofile-top.ts <file.cpuprofile> [rows]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const self = new Map<number, number>();
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const total = [...self.values()].reduce((a, b) => a + b, 0);
const byFunction = new Map<string, number>();
const byFile = new Map<string, number>();
for (const node of profile.nodes) {
  const t = self.get(node.id) ?? 0;
  if (!t) continue;
  const short = node.callFrame.url.replace(/^.*node_modules\//, '~/').replace(/^.*packages\//, '');
  const key = `${node.callFrame.functionName || '(anonymous)'} ${short}:${node.callFrame.lineNumber + 1}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + t);
  const fileKey = short.replace(/^~\/((?:@[^/]+\/)?[^/]+).*$/, '~/$1') || '(native)';
  byFile.set(fileKey, (byFile.get(fileKey) ?? 0) + t);
}
// inclusive time: a node's own samples plus its descendants' (a function counted once per stack)
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const keyOf = (n: ProfileNode) =>
  `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/^.*node_modules\//, '~/').replace(/^.*packages\//, '')}:${n.callFrame.lineNumber + 1}`;
const inclusive = new Map<string, number>();
for (const [id, t] of self) {
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const key = keyOf(byId.get(cur)!);
    if (seen.has(key)) continue;
    seen.add(key);
    inclusive.set(key, (inclusive.get(key) ?? 0) + t);
  }
}
const rows = Number(rowsArg ?? 40);
const pct = (t: number) => `${((t / total) * 100).toFixed(1).padStart(5)}%`;
console.log('self time by function');
for (const [key, t] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, rows)) console.log(`${pct(t)}  ${key}`);
console.log('\nself time by package / file');
for (const [key, t] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`${pct(t)}  ${key}`);
console.log('\ninclusive time (project and framework functions)');
for (const [key, t] of [...inclusive].filter(([k]) => /server\/src|fastify|pino|prom-client|kysely|sqlite|formbody|ajv|json-stringify/.test(k)).sort((a, b) => b[1] - a[1]).slice(0, rows)) console.log(`${pct(t)}  ${key}`);
