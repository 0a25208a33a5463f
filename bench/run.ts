// `npm run bench [-- --quick]`: Gatehouse against its anchors, side by side, in one run.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { authorizationServerCases, seededGatehouse, startBaselines, type SeededGatehouse } from './lib/cases-as.ts';
import { proxyCases, proxyPath, refreshStorm, startForwarder } from './lib/cases-proxy.ts';
import { BENCH_PROVIDER, benchProvidersDir, seedIntegration, startUpstream } from './lib/upstream.ts';
import { closeGrown, growthCases, grownGatehouse, type GrownGatehouse } from './lib/cases-growth.ts';
import { gatehouseRss, gatehouses, log, settingsFor } from './lib/context.ts';
import { GATEHOUSE_NODE_ARGS, GATEHOUSE_SETTINGS, postgresAvailable } from './lib/gatehouse.ts';
import { holdCoresPolling } from './lib/idle.ts';
import { LOAD_GENERATOR } from './lib/load.ts';
import { HAS_TASKSET, LOAD_CPUS, PRIORITY_NOTE, SERVER_CPUS, UPSTREAM_CPUS } from './lib/processes.ts';
import { formatTable, judge, type CaseResult } from './lib/table.ts';

const quick = process.argv.includes('--quick');
const settings = settingsFor(quick);
const started = Date.now();
const results: CaseResult[] = [];
const idle = holdCoresPolling();

log(
  `${quick ? 'quick' : 'full'} run: ${settings.rounds} alternating round(s) of ${settings.seconds} s per figure ` +
    `(${settings.warmup} s warm-up first), ${LOAD_GENERATOR}, taskset ${HAS_TASKSET ? 'yes' : 'no'}; ${idle.note}`,
);
const withPostgres = await postgresAvailable();
if (!withPostgres) log('PostgreSQL does not answer: its variants are left out');

// The proxy cases need the proxy route (packages/server/src/proxy); without it they are left out.
const withProxy = existsSync(new URL('../packages/server/src/proxy/index.ts', import.meta.url));
if (!withProxy) log('this Gatehouse has no proxy: the proxy cases are left out');

const upstream = await startUpstream();
const providersDir = benchProvidersDir(upstream.url);
try {
  const baselines = await startBaselines(settings);
  let sqlite: SeededGatehouse | undefined;
  let postgres: SeededGatehouse | undefined;
  try {
    sqlite = await seededGatehouse('sqlite', providersDir);
    postgres = withPostgres ? await seededGatehouse('postgres', providersDir) : undefined;
    results.push(...(await authorizationServerCases(settings, baselines, { sqlite, postgres })));
    await baselines.close();
    if (withProxy) {
      const forwarder = await startForwarder(upstream);
      try {
        results.push(...(await proxyCases(settings, sqlite, upstream, forwarder)));
      } finally {
        await forwarder.stop();
      }
    }
  } finally {
    await baselines.close();
    await sqlite?.close();
    await postgres?.close();
  }

  let small: GrownGatehouse | undefined;
  let large: GrownGatehouse | undefined;
  try {
    const grown = {
      provider: BENCH_PROVIDER,
      providersDir,
      upstreamToken: 'up_at_seeded',
      beforeStart: withProxy ? seedIntegration : undefined,
    };
    small = await grownGatehouse(settings.growthBaseRows, grown);
    large = await grownGatehouse(settings.growthRows, grown);
    results.push(...(await growthCases(settings, small, large, withProxy ? proxyPath : undefined)));
  } finally {
    await closeGrown(small);
    await closeGrown(large);
  }

  if (withProxy && withPostgres) results.push(await refreshStorm(settings, upstream, providersDir));
} finally {
  await upstream.stop();
  rmSync(providersDir, { recursive: true, force: true });
  idle.release();
}

for (const g of gatehouses) g.peakRss();
const peak = Math.max(0, ...gatehouseRss.values());
results.push({
  name: 'memory (peak RSS)',
  unit: 'MB',
  gatehouse: peak / 1024 / 1024,
  baseline: null,
  baselineName: '',
  target: { kind: 'value-below', value: 250 },
  note: `VmHWM, the largest of the Gatehouse processes of the run: ${[...gatehouseRss].map(([name, bytes]) => `${name} ${(bytes / 1048576).toFixed(0)} MB`).join(', ')}`,
});

const judged = results.map(judge);
const table = formatTable(judged);
const seconds = Math.round((Date.now() - started) / 1000);
const notes = [
  `${quick ? 'quick' : 'full'} run, ${seconds} s; ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}); Node ${process.version}`,
  `load: ${LOAD_GENERATOR}, ${settings.connections} connections; ${settings.rounds} alternating round(s) of ${settings.seconds} s per figure; figures are each side's median round, the ratio the median of the ratios of rounds run next to each other; ${settings.warmup} s warm-up before each target's first round`,
  `${HAS_TASKSET ? `servers pinned to core ${SERVER_CPUS}, load generator to core ${LOAD_CPUS}, the proxy cases' upstream to core ${UPSTREAM_CPUS} (taskset)` : 'no taskset: processes not pinned'}; ${PRIORITY_NOTE}; ${idle.note}`,
  `Gatehouse: node ${GATEHOUSE_NODE_ARGS.join(' ')} gatehouse serve, ${Object.entries(GATEHOUSE_SETTINGS).map(([k, v]) => `${k}=${v}`).join(', ')}`,
  ...judged.filter((c) => c.note).map((c) => `${c.name}: ${c.note}`),
];
process.stdout.write(`\n${table}\n\n${notes.map((n) => `- ${n}`).join('\n')}\n`);
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(
  new URL('./results/latest.json', import.meta.url),
  `${JSON.stringify({ date: new Date().toISOString(), quick, seconds, settings, notes, cases: judged, table }, null, 2)}\n`,
);
const failed = judged.filter((c) => c.pass === false).length;
log(`${failed ? `${failed} target(s) missed` : 'every target met'}; results in bench/results/latest.json`);
