import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(fileURLToPath(import.meta.url), '../../../../..');
export const TEST_OUTPUT = join(REPO_ROOT, '.test-output');
export const LOG_DIR = join(TEST_OUTPUT, 'logs');
export const SECRETS_FILE = join(TEST_OUTPUT, 'secrets.txt');
export const POSTGRES_ADMIN_URL = process.env.GATEHOUSE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/** PostgreSQL suites run unless explicitly turned off; CI never turns them off. */
export const POSTGRES_ENABLED = process.env.GATEHOUSE_TEST_POSTGRES !== 'off';
