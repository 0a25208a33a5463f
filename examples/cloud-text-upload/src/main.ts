import { buildExample } from './app.ts';
import { loadConfig } from './config.ts';

/** Listens on EXAMPLE_PORT (default 4002) until SIGINT/SIGTERM. */
export async function main(): Promise<void> {
  const config = loadConfig();
  const app = await buildExample(config);
  const port = Number(process.env.EXAMPLE_PORT ?? new URL(config.publicUrl).port ?? 4002) || 4002;
  await app.listen({ port, host: process.env.EXAMPLE_HOST ?? '127.0.0.1' });
  console.log(`cloud-text-upload example on ${config.publicUrl} (Gatehouse at ${config.gatehouseUrl})`);
  const stop = () => void app.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
