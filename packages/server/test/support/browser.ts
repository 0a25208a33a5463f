/**
 * A minimal browser for redirect-driven flows: keeps cookies per host, follows redirects one
 * hop at a time, and records every URL it visited (to check that no token crossed a URL).
 */
export class TestBrowser {
  readonly visited: string[] = [];
  private readonly jar = new Map<string, Map<string, string>>();

  private cookieHeader(url: URL): string | undefined {
    const cookies = this.jar.get(url.host);
    return cookies && cookies.size > 0 ? [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') : undefined;
  }

  private keepCookies(url: URL, response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const cookies = this.jar.get(url.host) ?? new Map<string, string>();
      const value = pair!.slice(eq + 1);
      if (/expires=Thu, 01 Jan 1970/i.test(line) || value === '') cookies.delete(pair!.slice(0, eq));
      else cookies.set(pair!.slice(0, eq), value);
      this.jar.set(url.host, cookies);
    }
  }

  /** One request, no redirect following. */
  async request(href: string, init: RequestInit = {}): Promise<Response> {
    const url = new URL(href);
    this.visited.push(url.href);
    const headers = new Headers(init.headers);
    const cookie = this.cookieHeader(url);
    if (cookie) headers.set('cookie', cookie);
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    this.keepCookies(url, response);
    return response;
  }

  /**
   * Follows redirects from href until a response is not a redirect, or until `stopAt` matches
   * the next location (that location is then returned without being requested).
   */
  async follow(href: string, init: RequestInit = {}, stopAt?: (url: URL) => boolean): Promise<{ response?: Response; url: URL }> {
    let url = new URL(href);
    let response = await this.request(url.href, init);
    for (let hops = 0; hops < 20; hops++) {
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || !location) return { response, url };
      url = new URL(location, url);
      if (stopAt?.(url)) return { url };
      response = await this.request(url.href);
    }
    throw new Error('too many redirects');
  }

  async postForm(href: string, fields: Record<string, string>, stopAt?: (url: URL) => boolean) {
    return this.follow(
      href,
      { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() },
      stopAt,
    );
  }
}
