// Puts the table and notes of bench/results/latest.json into README.md between the
// `<!-- bench:table -->` and `<!-- /bench:table -->` markers: node --import tsx bench/tools/readme-table.ts
import { readFileSync, writeFileSync } from 'node:fs';

const results = JSON.parse(readFileSync(new URL('../results/latest.json', import.meta.url), 'utf8')) as {
  date: string;
  quick: boolean;
  table: string;
  notes: string[];
};
if (results.quick) throw new Error('latest.json is from a --quick run; the README shows a full run');
const readme = new URL('../../README.md', import.meta.url);
const text = readFileSync(readme, 'utf8');
const start = '<!-- bench:table -->';
const end = '<!-- /bench:table -->';
const from = text.indexOf(start);
if (from < 0) throw new Error(`README.md has no ${start} marker`);
const to = text.indexOf(end, from);
const block = [start, `A full run on the reference machine (${results.date.slice(0, 10)}):`, '', results.table, '', ...results.notes.map((n) => `- ${n}`), end].join('\n');
writeFileSync(readme, text.slice(0, from) + block + (to < 0 ? text.slice(from + start.length) : text.slice(to + end.length)));
console.log('README.md updated');
