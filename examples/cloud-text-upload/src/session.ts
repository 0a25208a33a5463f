import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { TokenSet } from '@gatehouse/node';

/** One browser's session: the server flow's state and nonce in flight, then its credentials. */
export interface Session {
  id: string;
  /** Sent back in every form of the session and compared on POST (with SameSite=Lax, against CSRF). */
  csrf: string;
  pending?: { state: string; nonce: string };
  credentials?: TokenSet;
  expiresAt: number;
}

export const SESSION_COOKIE = 'ctu_session';
const TTL_MS = 8 * 3600 * 1000;

const random = () => randomBytes(32).toString('base64url');

/** Sessions in memory, behind an HttpOnly SameSite=Lax cookie: enough for a demo (a real app uses a shared store). */
export class Sessions {
  private readonly byId = new Map<string, Session>();

  constructor(private readonly secureCookies: boolean) {}

  /** The session the request's cookie names, if it is live. */
  find(cookieHeader: string | undefined): Session | undefined {
    const id = /(?:^|;\s*)ctu_session=([A-Za-z0-9_-]{43})(?:;|$)/.exec(cookieHeader ?? '')?.[1];
    const session = id ? this.byId.get(id) : undefined;
    if (session && session.expiresAt < Date.now()) {
      this.byId.delete(session.id);
      return undefined;
    }
    return session;
  }

  create(): Session {
    for (const [id, s] of this.byId) if (s.expiresAt < Date.now()) this.byId.delete(id);
    const session: Session = { id: random(), csrf: random(), expiresAt: Date.now() + TTL_MS };
    this.byId.set(session.id, session);
    return session;
  }

  destroy(session: Session): void {
    this.byId.delete(session.id);
  }

  cookie(session: Session): string {
    return `${SESSION_COOKIE}=${session.id}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${TTL_MS / 1000}${this.secureCookies ? '; Secure' : ''}`;
  }

  clearCookie(): string {
    return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0`;
  }
}

export const sameToken = (a: string | undefined, b: string): boolean =>
  typeof a === 'string' && a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
