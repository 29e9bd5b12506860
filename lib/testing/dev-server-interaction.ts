import type { IncomingMessage, ServerResponse } from 'node:http';
import type { default as Provider } from 'oidc-provider';
import { renderLoginPage } from './dev-server-pages.js';
import { readBody, sendJson } from './dev-server-http.js';
import type { FiefDevUser } from './dev-server-types.js';

/**
 * The dev server's login step, where Fief would show its login form: the user named by
 * `login_hint` (or picked on the page) is logged in at once, with acr "1", and consents to
 * everything asked.
 */
export async function interact(
  provider: Provider,
  users: { list: readonly FiefDevUser[]; find(emailOrId: string): FiefDevUser | undefined },
  req: IncomingMessage,
  res: ServerResponse,
  action: string,
  submitted: boolean,
): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  const params = details.params as Record<string, string | undefined>;
  const email = (submitted ? new URLSearchParams(await readBody(req)).get('email') : params.login_hint) ?? undefined;
  const user = email ? users.find(email) : undefined;
  if (!user) {
    const html = renderLoginPage({ action, users: users.list, unknown: email });
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
    return;
  }
  if (!user.isActive) {
    await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'The user is inactive' });
    return;
  }
  const clientId = params.client_id!;
  const scope = params.scope ?? 'openid';
  const grant = new provider.Grant({ accountId: user.id!, clientId });
  grant.addOIDCScope(scope);
  grant.addResourceScope(`urn:fief:client:${clientId}`, scope);
  const grantId = await grant.save();
  await provider.interactionFinished(
    req,
    res,
    { login: { accountId: user.id!, acr: '1' }, consent: { grantId } },
    { mergeWithLastSubmission: false },
  );
}

/**
 * Ends the browser's session, as Fief's /logout does, so the next /authorize asks who logs in
 * again instead of silently reusing the previous user.
 */
export async function logout(provider: Provider, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const redirectUri = url.searchParams.get('redirect_uri');
  if (!redirectUri || !URL.canParse(redirectUri)) return sendJson(res, 400, { detail: 'redirect_uri is required' });
  const session = await provider.Session.get(provider.createContext(req, res));
  await session.destroy();
  res.writeHead(302, { location: redirectUri }).end();
}
