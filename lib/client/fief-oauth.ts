import { checkRedirectUri, nonEmptyString } from './client-options.js';
import { FiefError, FiefUnavailableError } from './errors.js';
import { expectObject, requestFiefJson, type FiefHttpSettings } from './fief-http.js';
import type { FiefMetadata } from './fief-metadata.js';
import type { FiefAuthUrlParameters, FiefTokenResponse, FiefUserInfo } from './types.js';

/** Query parameters {@link FiefOAuth.authUrl} owns; `extrasParams` may not override them. */
const RESERVED_AUTH_PARAMETERS = new Set([
  'response_type',
  'client_id',
  'redirect_uri',
  'scope',
  'state',
  'code_challenge',
  'code_challenge_method',
  'nonce',
  'lang',
]);

/** The requests a client makes to Fief on its own or a user's behalf: login URL, token endpoint, user endpoints. */
export class FiefOAuth {
  constructor(
    private readonly metadata: FiefMetadata,
    private readonly http: FiefHttpSettings,
    private readonly clientId: string,
    private readonly clientSecret: string | undefined,
  ) {}

  /** The URL of Fief's login page; `openid` is always among the scopes. */
  async authUrl(redirectUri: string, params: FiefAuthUrlParameters): Promise<string> {
    checkRedirectUri(redirectUri);
    const { state, scope, codeChallenge, codeChallengeMethod, nonce, lang, extrasParams } = params;
    if (codeChallengeMethod !== undefined && codeChallenge === undefined) {
      throw new FiefError('codeChallengeMethod was given without a codeChallenge');
    }
    if (codeChallengeMethod !== undefined && codeChallengeMethod !== 'S256' && codeChallengeMethod !== 'plain') {
      throw new FiefError(`Unknown PKCE method "${String(codeChallengeMethod)}": use "S256" or "plain"`);
    }
    const { authorization_endpoint } = await this.metadata.discovery();
    const url = new URL(authorization_endpoint);
    const query = url.searchParams;
    query.set('response_type', 'code');
    query.set('client_id', this.clientId);
    query.set('redirect_uri', redirectUri);
    query.set('scope', [...new Set(['openid', ...(scope ?? [])])].join(' '));
    if (state !== undefined) query.set('state', state);
    if (codeChallenge !== undefined) {
      query.set('code_challenge', codeChallenge);
      // RFC 7636 defaults to `plain` when no method is sent; our challenges default to S256.
      query.set('code_challenge_method', codeChallengeMethod ?? 'S256');
    }
    if (nonce !== undefined) query.set('nonce', nonce);
    if (lang !== undefined) query.set('lang', lang);
    for (const [name, value] of Object.entries(extrasParams ?? {})) {
      if (RESERVED_AUTH_PARAMETERS.has(name)) throw new FiefError(`extrasParams may not set "${name}": use the dedicated parameter`);
      query.set(name, String(value));
    }
    return url.href;
  }

  /** A grant at the token endpoint, authenticated with the client secret when there is one. */
  async requestTokens(form: URLSearchParams): Promise<FiefTokenResponse> {
    const { token_endpoint } = await this.metadata.discovery();
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (this.clientSecret !== undefined) {
      // RFC 6749 2.3.1: id and secret are form-urlencoded before Basic encoding.
      const credentials = `${formEncode(this.clientId)}:${formEncode(this.clientSecret)}`;
      headers.authorization = `Basic ${btoa(credentials)}`;
    } else {
      form.set('client_id', this.clientId);
    }
    const body = expectObject(
      await requestFiefJson(this.http, 'token endpoint', token_endpoint, { method: 'POST', headers, body: form.toString() }),
      'token response',
    );
    for (const field of ['access_token', 'id_token', 'token_type'] as const) {
      if (typeof body[field] !== 'string' || body[field] === '') {
        throw new FiefUnavailableError(`Fief token response has no "${field}" string`);
      }
    }
    if (typeof body.expires_in !== 'number') throw new FiefUnavailableError('Fief token response has no "expires_in" number');
    if (body.refresh_token !== undefined && typeof body.refresh_token !== 'string') {
      throw new FiefUnavailableError('Fief token response has a "refresh_token" that is not a string');
    }
    return body as unknown as FiefTokenResponse;
  }

  /** A call to one of Fief's user endpoints with the user's bearer token; Fief answers the user. */
  async callUserEndpoint(
    what: string,
    url: string,
    method: string,
    accessToken: string,
    data?: Record<string, unknown>,
  ): Promise<FiefUserInfo> {
    const headers: Record<string, string> = { authorization: `Bearer ${nonEmptyString(accessToken, 'accessToken')}` };
    if (data !== undefined) headers['content-type'] = 'application/json';
    const body = data === undefined ? undefined : JSON.stringify(data);
    const user = expectObject(await requestFiefJson(this.http, what, url, { method, headers, body }), `${what} answer`);
    if (typeof user.sub !== 'string') throw new FiefUnavailableError(`Fief ${what} answer has no "sub"`);
    return user as FiefUserInfo;
  }
}

function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}
