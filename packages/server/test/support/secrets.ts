import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { SECRETS_FILE } from './paths.ts';

/** Notes a secret a test used so the log scan can look for it in every log line of the suite. */
export function recordSecret(...values: (string | null | undefined)[]): void {
  const lines = values.filter((v): v is string => typeof v === 'string' && v.length >= 8);
  if (lines.length === 0) return;
  mkdirSync(dirname(SECRETS_FILE), { recursive: true });
  appendFileSync(SECRETS_FILE, lines.map((v) => `${v}\n`).join(''));
}
