import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import { escapeHtml, page, SANDBOX_CSP } from './html.ts';
import { checkPassword, type DemoUser } from './users.ts';

const SCOPE_WORDS: Record<string, string> = {
  openid: 'Know who you are on Sandbox Drive',
  email: 'See your email address',
  profile: 'See your name',
  offline_access: 'Keep access while you are away',
  drive: 'Read and write the files in your drive',
};

/** Reads a small urlencoded form body (16 KiB at most). */
export async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 16 * 1024) throw Object.assign(new Error('form too large'), { status: 413 });
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

export function sendHtml(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': SANDBOX_CSP,
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(body);
}

function loginPage(uid: string, users: readonly DemoUser[], problem?: string, login = ''): string {
  const rows = users.map((u) => `<tr><td><code>${escapeHtml(u.login)}</code></td><td><code>${escapeHtml(u.password)}</code></td><td>${escapeHtml(u.name)}</td></tr>`).join('');
  return page(
    'Sign in',
    `<h1>Sign in to Sandbox Drive</h1>
${problem ? `<p class="error" role="alert">${escapeHtml(problem)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}/login">
<label for="login">User name</label><input id="login" name="login" autocomplete="username" value="${escapeHtml(login)}" autofocus required>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit" class="primary">Sign in</button>
</form>
<form method="post" action="/interaction/${escapeHtml(uid)}/abort"><button type="submit">Cancel</button></form>
<p class="hint">This is an offline demo provider. Demo users:</p>
<table>${rows}</table>`,
  );
}

function consentPage(uid: string, clientName: string, user: string, scopes: string[]): string {
  const items = scopes.map((s) => `<li>${escapeHtml(SCOPE_WORDS[s] ?? s)}</li>`).join('');
  return page(
    'Allow access',
    `<h1>${escapeHtml(clientName)} wants to access your Sandbox Drive</h1>
<p>Signed in as <strong>${escapeHtml(user)}</strong>.</p>
<ul>${items}</ul>
<form method="post" action="/interaction/${escapeHtml(uid)}/confirm"><button type="submit" class="primary">Allow</button></form>
<form method="post" action="/interaction/${escapeHtml(uid)}/abort"><button type="submit">Deny</button></form>`,
  );
}

export interface InteractionOptions {
  users: readonly DemoUser[];
  /** Extra headers for the login and consent pages (tests set Cross-Origin-Opener-Policy). */
  pageHeaders: Record<string, string>;
}

/** The provider's interaction pages: GET /interaction/:uid, POST …/login, …/confirm, …/abort. */
export async function handleInteraction(provider: Provider, options: InteractionOptions, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  const [, , uid, action] = path.split('/');
  const details = await provider.interactionDetails(req, res);
  if (!uid || details.uid !== uid) return sendHtml(res, 400, page('Error', '<h1>This sign-in is no longer valid</h1>'));
  const { prompt, params, session } = details;
  if (req.method === 'GET' && action === undefined) {
    if (prompt.name === 'login') return sendHtml(res, 200, loginPage(uid, options.users), options.pageHeaders);
    const client = await provider.Client.find(String(params.client_id));
    const user = options.users.find((u) => u.id === session?.accountId);
    const scopes = String(params.scope ?? '').split(' ').filter(Boolean);
    return sendHtml(res, 200, consentPage(uid, client?.clientName ?? String(params.client_id), user?.email ?? '', scopes), options.pageHeaders);
  }
  if (req.method !== 'POST') return sendHtml(res, 405, page('Error', '<h1>Method not allowed</h1>'));
  const form = await readForm(req);
  if (action === 'login') {
    const user = checkPassword(options.users, form.get('login') ?? '', form.get('password') ?? '');
    if (!user) return sendHtml(res, 200, loginPage(uid, options.users, 'Wrong user name or password.', form.get('login') ?? ''), options.pageHeaders);
    return provider.interactionFinished(req, res, { login: { accountId: user.id } }, { mergeWithLastSubmission: false });
  }
  if (action === 'confirm') {
    const accountId = session?.accountId;
    if (!accountId) return sendHtml(res, 400, page('Error', '<h1>Sign in first</h1>'));
    const grant = details.grantId ? await provider.Grant.find(details.grantId) : new provider.Grant({ accountId, clientId: String(params.client_id) });
    if (!grant) return sendHtml(res, 400, page('Error', '<h1>This sign-in is no longer valid</h1>'));
    const missing = prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[] };
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    const grantId = await grant.save();
    return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }
  if (action === 'abort') {
    return provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'the user did not allow access' }, { mergeWithLastSubmission: false });
  }
  return sendHtml(res, 404, page('Not found', '<h1>Not found</h1>'));
}
