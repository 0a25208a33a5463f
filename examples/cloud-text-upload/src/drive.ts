import type { AccountHandle } from '@gatehouse/node';

/** A file as the drive lists it. */
export interface DriveEntry {
  name: string;
  size: number;
  content_type?: string;
  modified_at?: string;
}

/** The drive answered with an error (its status and description are shown to the user). */
export class DriveError extends Error {
  override name = 'DriveError';
  constructor(
    readonly status: number,
    readonly description: string,
  ) {
    super(`the drive answered ${status}: ${description}`);
  }
}

// Paths under the provider's API base URL (the catalog entry's proxy.baseUrl), as the sandbox drive names them.
const FILES = 'files';

async function failure(response: Response): Promise<DriveError> {
  const body = (await response.json().catch(() => ({}))) as { error?: string; error_description?: string };
  return new DriveError(response.status, body.error_description ?? body.error ?? response.statusText);
}

/** Writes `text` as the file `name` (created or replaced), through Gatehouse's proxy. */
export async function saveText(account: AccountHandle, name: string, text: string): Promise<DriveEntry> {
  const response = await account.fetch(`${FILES}/${encodeURIComponent(name)}`, {
    method: 'PUT',
    headers: { 'content-type': 'text/plain; charset=utf-8' },
    body: text,
  });
  if (response.status !== 200 && response.status !== 201) throw await failure(response);
  return (await response.json()) as DriveEntry;
}

/** The drive's files, through Gatehouse's proxy. */
export async function listFiles(account: AccountHandle): Promise<DriveEntry[]> {
  const response = await account.fetch(FILES, { headers: { accept: 'application/json' } });
  if (response.status !== 200) throw await failure(response);
  return ((await response.json()) as { files: DriveEntry[] }).files;
}

/** A file name the drive will take: 1–200 characters, no path separators, not hidden. */
export const validFileName = (name: string): boolean => /^(?!\.)[A-Za-z0-9._ ()-]{1,200}$/.test(name);
