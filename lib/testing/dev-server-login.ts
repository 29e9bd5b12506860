import type { FiefDevLoginResult } from './dev-server-types.js';

/**
 * Follows `authorizeUrl` through the dev server's own pages over real HTTP, with a cookie jar of its
 * own, until a redirect leaves `serverOrigin`: that is where the browser would be sent back to the
 * client, with the code or the error.
 */
export async function headlessLogin(authorizeUrl: string, serverOrigin: string, email?: string): Promise<FiefDevLoginResult> {
  const cookies = new Map<string, string>();
  let url = new URL(authorizeUrl);
  if (email) url.searchParams.set('login_hint', email);
  for (let hop = 0; hop < 10; hop++) {
    const response = await fetch(url, {
      redirect: 'manual',
      headers: { cookie: [...cookies].map(([name, value]) => `${name}=${value}`).join('; ') },
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const index = pair.indexOf('=');
      cookies.set(pair.slice(0, index), pair.slice(index + 1));
    }
    const location = response.headers.get('location');
    if (!location) {
      throw new Error(`Dev server login stopped at ${url.pathname} with ${response.status}: ${await response.text()}`);
    }
    const next = new URL(location, url);
    if (next.origin !== serverOrigin) return loginResult(next);
    url = next;
  }
  throw new Error('Dev server login did not come back to the client within 10 redirects');
}

function loginResult(back: URL): FiefDevLoginResult {
  const params = back.searchParams;
  const state = params.get('state') ?? undefined;
  const error = params.get('error');
  if (error !== null) {
    const description = params.get('error_description');
    return { ok: false, url: back.href, error, state, ...(description === null ? {} : { error_description: description }) };
  }
  const code = params.get('code');
  if (code === null) throw new Error(`Dev server login came back to ${back.origin}${back.pathname} with neither a code nor an error`);
  return { ok: true, url: back.href, code, state };
}
