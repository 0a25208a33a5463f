import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';

/** One stored file. */
export interface DriveFile {
  name: string;
  contentType: string;
  content: Buffer;
  modified: number;
}

export const MAX_FILE_BYTES = 1024 * 1024;
const FILE_NAME = /^(?!\.)[A-Za-z0-9._ ()-]{1,200}$/;

/** Every user's files, in memory: what a demo needs, gone when the sandbox stops. */
export class Drives {
  private readonly byUser = new Map<string, Map<string, DriveFile>>();

  files(userId: string): Map<string, DriveFile> {
    let files = this.byUser.get(userId);
    if (!files) this.byUser.set(userId, (files = new Map()));
    return files;
  }

  list(userId: string): DriveFile[] {
    return [...this.files(userId).values()].sort((a, b) => a.name.localeCompare(b.name));
  }
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
}

function refuse(res: ServerResponse, description: string): void {
  json(res, 401, { error: 'invalid_token', error_description: description }, {
    'www-authenticate': `Bearer realm="sandbox-drive", error="invalid_token", error_description="${description}"`,
  });
}

/** The user a bearer token speaks for: a live access token of a live grant, with the `drive` scope. */
async function bearerUser(provider: Provider, req: IncomingMessage): Promise<string | { problem: string }> {
  const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(req.headers.authorization ?? '');
  if (!match) return { problem: 'send an access token as Authorization: Bearer <token>' };
  const token = await provider.AccessToken.find(match[1]!);
  if (!token || token.isExpired) return { problem: 'the access token is unknown, expired or revoked' };
  const grant = token.grantId ? await provider.Grant.find(token.grantId) : undefined;
  if (!grant || !token.accountId) return { problem: 'the access token is unknown, expired or revoked' };
  if (!String(token.scope ?? '').split(' ').includes('drive')) return { problem: 'the access token lacks the drive scope' };
  return token.accountId;
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_FILE_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

const view = (f: DriveFile) => ({ name: f.name, size: f.content.length, content_type: f.contentType, modified_at: new Date(f.modified).toISOString() });

/**
 * The drive API under /drive: `GET /drive/files` lists, `PUT /drive/files/:name` uploads the
 * request body, `GET /drive/files/:name` downloads, `DELETE /drive/files/:name` removes.
 */
export async function handleDrive(provider: Provider, drives: Drives, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  const user = await bearerUser(provider, req);
  if (typeof user !== 'string') return refuse(res, user.problem);
  const files = drives.files(user);
  if (path === '/drive/files' || path === '/drive/files/') {
    if (req.method !== 'GET') return json(res, 405, { error: 'method_not_allowed', error_description: 'use GET to list' }, { allow: 'GET' });
    return json(res, 200, { files: drives.list(user).map(view) });
  }
  if (!path.startsWith('/drive/files/')) return json(res, 404, { error: 'not_found', error_description: 'no such drive route' });
  let name: string;
  try {
    name = decodeURIComponent(path.slice('/drive/files/'.length));
  } catch {
    return json(res, 400, { error: 'invalid_request', error_description: 'the file name is not valid' });
  }
  if (!FILE_NAME.test(name)) return json(res, 400, { error: 'invalid_request', error_description: 'file names are 1-200 letters, digits, spaces and ._()-' });
  if (req.method === 'PUT') {
    const content = await readBody(req);
    if (!content) return json(res, 413, { error: 'too_large', error_description: `files are ${MAX_FILE_BYTES} bytes at most` });
    const existed = files.has(name);
    const file = { name, content, contentType: req.headers['content-type'] ?? 'application/octet-stream', modified: Date.now() };
    files.set(name, file);
    return json(res, existed ? 200 : 201, view(file));
  }
  const file = files.get(name);
  if (req.method === 'GET') {
    if (!file) return json(res, 404, { error: 'not_found', error_description: 'no such file' });
    res.writeHead(200, { 'content-type': file.contentType, 'content-length': String(file.content.length), 'cache-control': 'no-store' });
    return void res.end(file.content);
  }
  if (req.method === 'DELETE') {
    if (!file) return json(res, 404, { error: 'not_found', error_description: 'no such file' });
    files.delete(name);
    res.writeHead(204).end();
    return;
  }
  return json(res, 405, { error: 'method_not_allowed', error_description: 'use GET, PUT or DELETE' }, { allow: 'GET, PUT, DELETE' });
}
