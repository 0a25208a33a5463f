// The proxy cases: throughput and added latency against a bare Fastify + undici forwarder to the
// same local upstream, and the refresh storm (two instances on PostgreSQL, one expired token).
import { APP_SCOPES, checkOk, gatehouseSpecs, type SeededGatehouse } from './cases-as.ts';
import { log, stopGatehouse, trackGatehouse, type RunSettings } from './context.ts';
import { dropEnv, freshEnv, seedApp, startGatehouse } from './gatehouse.ts';
import { alternate, type LoadSpec } from './load.ts';
import { startNode, type Service } from './processes.ts';
import { median, type CaseResult } from './table.ts';
import { seedProxyAccount, UPSTREAM_PATH } from './upstream.ts';

export const proxyPath = (accountId: string) => `/v1/accounts/${accountId}/proxy/${UPSTREAM_PATH}`;

/** The cases the bench's tools can put on one seeded Gatehouse (see toolSpecs). */
export const TOOL_CASES = ['verify', 'introspect', 'cc', 'proxy'] as const;
export type ToolCase = (typeof TOOL_CASES)[number];

/** `name` as one of the tools' cases; anything else stops the tool with its usage. */
export function toolCase(name: string, usage: string): ToolCase {
  if ((TOOL_CASES as readonly string[]).includes(name)) return name as ToolCase;
  throw new Error(`unknown case "${name}"; usage: ${usage}`);
}

/**
 * The loads the bench's tools (ab.ts, duel.ts, profile-case.ts, serve-seeded.ts) put on one seeded
 * Gatehouse: the authorization server's cases, and its proxy route for the seeded account (the
 * app's API key).
 */
export function toolSpecs(settings: Pick<RunSettings, 'connections' | 'seconds'>, g: Pick<SeededGatehouse, 'service' | 'creds'>, accountId: string): Record<ToolCase, LoadSpec> {
  const cases = gatehouseSpecs(settings, g);
  const proxy: LoadSpec = { ...cases.verify, url: `${g.service.url}${proxyPath(accountId)}`, authorization: `Bearer ${g.creds.apiKey}` };
  return { verify: cases.verify, introspect: cases.introspect, cc: cases.clientCredentials, proxy };
}

export async function startForwarder(upstream: Service): Promise<Service> {
  return startNode('forwarder', new URL('../baselines/forwarder.ts', import.meta.url).pathname, {
    env: { UPSTREAM_URL: upstream.url },
    probePath: `/fwd/${UPSTREAM_PATH}`,
  });
}

/** Proxy throughput (50 connections) and added p50 latency (1 connection). */
export async function proxyCases(settings: RunSettings, gatehouse: SeededGatehouse, upstream: Service, forwarder: Service): Promise<CaseResult[]> {
  const accountId = await seedProxyAccount(gatehouse.env, gatehouse.creds, { upstreamToken: 'up_at_live', expiresAt: Date.now() + 24 * 3600_000 });
  const viaGatehouse = { url: `${gatehouse.service.url}${proxyPath(accountId)}`, authorization: `Bearer ${gatehouse.creds.apiKey}`, pid: gatehouse.service.pid };
  const viaForwarder = { url: `${forwarder.url}/fwd/${UPSTREAM_PATH}`, pid: forwarder.pid };
  const direct = { url: `${upstream.url}/${UPSTREAM_PATH}`, authorization: 'Bearer up_at_live' };
  await checkOk(viaGatehouse.url, { headers: { authorization: viaGatehouse.authorization } }, 'proxy');
  await checkOk(viaForwarder.url, {}, 'forwarder');

  const many = { connections: settings.connections, seconds: settings.seconds };
  log('proxy throughput: Gatehouse against the bare forwarder');
  const throughput = await alternate(
    { forwarder: { ...viaForwarder, ...many } as LoadSpec, gatehouse: { ...viaGatehouse, ...many } as LoadSpec },
    { rounds: settings.rounds, warmup: settings.warmup, log },
  );
  const one = { connections: 1, seconds: settings.seconds };
  log('proxy latency (1 connection): direct, forwarder, Gatehouse');
  const latency = await alternate(
    { direct: { ...direct, ...one } as LoadSpec, forwarder: { ...viaForwarder, ...one } as LoadSpec, gatehouse: { ...viaGatehouse, ...one } as LoadSpec },
    { rounds: settings.rounds, warmup: settings.warmup, better: 'p50', reference: 'direct', log },
  );
  // added latency per round: each round's p50 over the direct call's p50 of the same round
  const added = (side: 'gatehouse' | 'forwarder') => latency[side].samples.map((p50, i) => Math.max(0, p50 - latency.direct.samples[i]!) / 1000);
  const addedGatehouse = added('gatehouse');
  const addedForwarder = added('forwarder');
  return [
    {
      name: 'proxy throughput',
      unit: 'rps',
      gatehouse: throughput.gatehouse.rps,
      baseline: throughput.forwarder.rps,
      baselineName: 'Fastify + undici forwarder',
      target: { kind: 'ratio-at-least', value: 0.8 },
      errors: { gatehouse: throughput.gatehouse.errors, baseline: throughput.forwarder.errors },
      samples: { gatehouse: throughput.gatehouse.samples, baseline: throughput.forwarder.samples },
      cpu: throughput.gatehouse.cpuUsPerRequest === undefined ? undefined : { gatehouse: throughput.gatehouse.cpuUsPerRequest, baseline: throughput.forwarder.cpuUsPerRequest ?? null },
    },
    {
      name: 'proxy latency (added p50)',
      unit: 'ms',
      gatehouse: median(addedGatehouse),
      baseline: median(addedForwarder),
      baselineName: 'forwarder',
      target: { kind: 'ratio-at-most', value: 2 },
      errors: { gatehouse: latency.gatehouse.errors, baseline: latency.forwarder.errors + latency.direct.errors },
      samples: { gatehouse: addedGatehouse, baseline: addedForwarder },
      note: `median p50 direct ${(latency.direct.latencyUs.p50 / 1000).toFixed(3)} ms, via forwarder ${(latency.forwarder.latencyUs.p50 / 1000).toFixed(3)} ms, via Gatehouse ${(latency.gatehouse.latencyUs.p50 / 1000).toFixed(3)} ms`,
    },
  ];
}

async function upstreamRefreshes(upstream: Service): Promise<number> {
  return ((await (await fetch(`${upstream.url}/_stats`)).json()) as { refreshes: number }).refreshes;
}

/**
 * The refresh storm: two Gatehouse instances on one PostgreSQL database, one account whose
 * upstream token has expired, `stormCalls` proxy calls at once spread over both instances.
 * Exactly one refresh may reach the upstream, and every call must succeed.
 */
export async function refreshStorm(settings: RunSettings, upstream: Service, providersDir: string): Promise<CaseResult> {
  const env = await freshEnv('postgres', providersDir);
  const instances: Service[] = [];
  try {
    const creds = await seedApp(env, APP_SCOPES);
    const accountId = await seedProxyAccount(env, creds, { upstreamToken: 'up_at_expired', expiresAt: Date.now() - 60_000 });
    for (const name of ['gatehouse-storm-a', 'gatehouse-storm-b']) instances.push(trackGatehouse(await startGatehouse(name, env)));
    const before = await upstreamRefreshes(upstream);
    log(`refresh storm: ${settings.stormCalls} concurrent proxy calls over 2 instances on PostgreSQL`);
    const started = Date.now();
    const statuses = await Promise.all(
      Array.from({ length: settings.stormCalls }, async (_, i) => {
        try {
          const response = await fetch(`${instances[i % 2]!.url}${proxyPath(accountId)}`, { headers: { authorization: `Bearer ${creds.apiKey}` } });
          await response.arrayBuffer();
          return response.status;
        } catch {
          return 0;
        }
      }),
    );
    const seconds = (Date.now() - started) / 1000;
    const refreshes = (await upstreamRefreshes(upstream)) - before;
    const failed = statuses.filter((s) => s !== 200).length;
    const byStatus = [...new Set(statuses)].map((s) => `${s}: ${statuses.filter((x) => x === s).length}`).join(', ');
    log(`  ${refreshes} upstream refresh(es), ${failed} failed (${byStatus}) in ${seconds.toFixed(2)} s`);
    return {
      name: `refresh storm (${settings.stormCalls} calls, 2 instances, postgres)`,
      unit: 'refreshes',
      gatehouse: refreshes,
      baseline: null,
      baselineName: '',
      target: { kind: 'exactly', value: 1, also: { label: 'failed', value: 0 } },
      extra: { label: 'failed', value: failed },
      note: `answers ${byStatus}; all ${settings.stormCalls} done in ${seconds.toFixed(2)} s`,
    };
  } finally {
    for (const instance of instances) await stopGatehouse(instance);
    await dropEnv(env);
  }
}
