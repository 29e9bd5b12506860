/**
 * Where oidc-provider and Fief differ, the dev server bends oidc-provider's requests and answers to
 * Fief's behaviour here, around the provider rather than inside it.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { default as Provider } from 'oidc-provider';

const PKCE_VERIFIER = /^[\w.~-]{43,128}$/;

/**
 * oidc-provider drops `offline_access` unless the request prompts for consent, whereas Fief
 * grants it; asking for consent here (our interaction always gives it) gives Fief's behaviour.
 */
export function askConsentForOfflineAccess(url: URL): void {
  const scope = url.searchParams.get('scope')?.split(' ') ?? [];
  if (scope.includes('offline_access') && !url.searchParams.get('prompt')) url.searchParams.set('prompt', 'consent');
}

/**
 * Fief accepts PKCE `plain` (and takes it when no method is given, as RFC 7636 says); oidc-provider
 * knows only S256. A plain challenge is the verifier itself, so its S256 hash is the S256 challenge
 * of the same verifier: the token endpoint then checks the verifier exactly as Fief would.
 */
export function acceptPlainPkce(url: URL): void {
  const challenge = url.searchParams.get('code_challenge');
  const method = url.searchParams.get('code_challenge_method') ?? 'plain';
  // A malformed one is left for oidc-provider to refuse at once, rather than at the token endpoint.
  if (!challenge || method !== 'plain' || !PKCE_VERIFIER.test(challenge)) return;
  url.searchParams.set('code_challenge', createHash('sha256').update(challenge).digest('base64url'));
  url.searchParams.set('code_challenge_method', 'S256');
}

/**
 * Gives oidc-provider's token responses Fief's exact shape. Errors: Fief answers every one with
 * 400, where oidc-provider answers a failed client authentication with 401. Success: `token_type`
 * "bearer", no `scope`, and a refresh token only while `offline_access` is in scope. oidc-provider
 * always rotates in a new refresh token, even when a refresh narrowed `offline_access` away; Fief
 * issues none then, so that one is revoked before the answer leaves.
 */
export function shapeTokenResponse(res: ServerResponse, provider: Provider): void {
  const end = res.end.bind(res) as (body?: string | Buffer) => ServerResponse;
  res.end = ((body?: string | Buffer) => {
    if (res.statusCode === 401 && !res.headersSent) {
      res.statusCode = 400;
      res.removeHeader('www-authenticate');
    }
    let tokens: Record<string, unknown>;
    try {
      if (res.statusCode !== 200 || body === undefined || typeof body === 'function') return end(body);
      tokens = JSON.parse(body.toString()) as Record<string, unknown>;
    } catch {
      return end(body);
    }
    const offline = String(tokens.scope ?? '').split(' ').includes('offline_access');
    const unwanted = offline ? undefined : (tokens.refresh_token as string | undefined);
    tokens.token_type = 'bearer';
    delete tokens.scope;
    if (unwanted) delete tokens.refresh_token;
    const shaped = JSON.stringify(tokens);
    res.setHeader('content-length', Buffer.byteLength(shaped));
    if (!unwanted) return end(shaped);
    void provider.RefreshToken.find(unwanted)
      .then((token) => token?.destroy())
      .catch(() => undefined)
      .finally(() => end(shaped));
    return res;
  }) as typeof res.end;
}

/**
 * Fief's acr "0" means "no authentication was performed, a previous session was used". The
 * interaction of a fresh login puts acr "1" in the browser's session; a later /authorize that
 * finds that session is a reuse of it, so the session is downgraded to "0" before oidc-provider
 * sees the request (a login prompt, e.g. `prompt=login`, sets "1" again).
 */
export async function markSessionReused(provider: Provider, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const session = await provider.Session.get(provider.createContext(req, res));
  if (!session.accountId || session.acr === '0') return;
  session.acr = '0';
  await session.persist();
}
