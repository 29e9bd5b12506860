/**
 * Several tenants on one dev server, as Fief serves them: each under `/{slug}` with its own issuer,
 * key, users, clients and faults, and nothing of one usable at another. Checked over real HTTP with
 * fetch and jose only.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, importJWK, jwtVerify, exportJWK, type JSONWebKeySet } from 'jose';
import { FiefDevServer, type FiefDevTenant } from '../../lib/testing/index.js';

const REDIRECT = 'http://127.0.0.1:9999/callback';
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
const getJson = async (url: string) => (await (await fetch(url)).json()) as Record<string, unknown>;

/** The code flow against `tenant`, over HTTP, with its own endpoints from its discovery document. */
async function codeFlow(tenant: FiefDevTenant, email: string, scope = 'openid') {
  const discovery = await getJson(`${tenant.baseURL}/.well-known/openid-configuration`);
  const client = tenant.clients[0];
  const verifier = randomBytes(32).toString('base64url');
  const url = new URL(discovery.authorization_endpoint as string);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: client.clientId,
    redirect_uri: REDIRECT,
    scope,
    state: 'st',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();
  const result = await tenant.login(url.href, { email });
  if (!result.ok) throw new Error(result.error);
  const response = await fetch(discovery.token_endpoint as string, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(client.clientId, client.clientSecret!) },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: result.code, redirect_uri: REDIRECT, code_verifier: verifier }),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, string>;
}

const userinfoStatus = async (tenant: FiefDevTenant, token: string) =>
  (await fetch(`${tenant.baseURL}/api/userinfo`, { headers: { authorization: `Bearer ${token}` } })).status;

describe('FiefDevServer with several tenants', () => {
  const dev = new FiefDevServer({
    tenants: {
      acme: { users: [{ email: 'wile@acme.test', permissions: ['anvils:drop'] }] },
      globex: { keySize: 4096, clients: [{ clientId: 'globex-app', clientSecret: 'globex-secret' }] },
    },
  });
  let base: string;
  let acme: FiefDevTenant;
  let globex: FiefDevTenant;

  beforeAll(async () => {
    base = await dev.start();
    acme = dev.tenant('acme');
    globex = dev.tenant('globex');
  });
  afterAll(() => dev.stop());

  it('serves each tenant under its slug with its own issuer and endpoints, the default one at the root', async () => {
    expect(dev.tenantSlugs).toEqual(['acme', 'globex']);
    expect(dev.tenant()).toBe(dev);
    expect(dev.tenant('acme')).toBe(acme);
    expect(acme.baseURL).toBe(`${base}/acme`);
    expect(acme.issuer).toBe(`${base}/acme`);
    expect(dev.issuer).toBe(base);
    for (const tenant of [dev, acme, globex]) {
      const discovery = await getJson(`${tenant.baseURL}/.well-known/openid-configuration`);
      expect(discovery).toMatchObject({
        issuer: tenant.issuer,
        authorization_endpoint: `${tenant.baseURL}/authorize`,
        token_endpoint: `${tenant.baseURL}/api/token`,
        userinfo_endpoint: `${tenant.baseURL}/api/userinfo`,
        jwks_uri: `${tenant.baseURL}/.well-known/jwks.json`,
      });
    }
    expect(new Set([dev.tenantId, acme.tenantId, globex.tenantId]).size).toBe(3);
    // An unknown first segment is no tenant: the default tenant answers it, as a 404.
    expect((await fetch(`${base}/initech/.well-known/openid-configuration`)).status).toBe(404);
  });

  it('signs each tenant with its own key of its own size', async () => {
    const kids = [];
    for (const [tenant, bits] of [[dev, 2048], [acme, 2048], [globex, 4096]] as const) {
      const jwks = (await getJson(`${tenant.baseURL}/.well-known/jwks.json`)) as unknown as JSONWebKeySet;
      expect(jwks.keys).toHaveLength(1);
      expect(jwks.keys[0].kid).toBe(tenant.signingKey.kid);
      expect(Buffer.from(jwks.keys[0].n!, 'base64url').length * 8).toBe(bits);
      kids.push(jwks.keys[0].kid);
    }
    expect(new Set(kids).size).toBe(3);
  });

  it("runs each tenant's code flow with its own users and client, and gives tokens only its JWKS verifies", async () => {
    const tokens = await codeFlow(globex, 'anne@bretagne.duchy');
    const access = decodeJwt(tokens.access_token);
    expect(access).toMatchObject({ iss: globex.issuer, aud: ['globex-app'], azp: 'globex-app', sub: globex.findUser('anne@bretagne.duchy')!.id });
    expect(decodeJwt(tokens.id_token)).toMatchObject({ iss: globex.issuer, tenant_id: globex.tenantId });
    const own = (await getJson(`${globex.baseURL}/.well-known/jwks.json`)) as unknown as JSONWebKeySet;
    const other = (await getJson(`${dev.baseURL}/.well-known/jwks.json`)) as unknown as JSONWebKeySet;
    await expect(jwtVerify(tokens.access_token, createLocalJWKSet(own), { issuer: globex.issuer })).resolves.toBeDefined();
    await expect(jwtVerify(tokens.access_token, createLocalJWKSet(other))).rejects.toThrow();

    const wile = await codeFlow(acme, 'wile@acme.test');
    expect(decodeJwt(wile.access_token)).toMatchObject({ iss: acme.issuer, aud: ['fief-dev-client-acme'], permissions: ['anvils:drop'] });
    // Users are per tenant: the same email is another user in another tenant, and wile exists only in acme.
    expect(globex.findUser('anne@bretagne.duchy')!.id).not.toBe(dev.findUser('anne@bretagne.duchy')!.id);
    expect(dev.findUser('wile@acme.test')).toBeUndefined();
    await expect(codeFlow(dev, 'wile@acme.test')).rejects.toThrow(/No user wile@acme.test/);
  });

  it("refuses one tenant's client and tokens at every other tenant", async () => {
    const tokenOf = { dev: await dev.issueAccessToken(), acme: await acme.issueAccessToken(), globex: await globex.issueAccessToken() };
    const tenants = { dev, acme, globex };
    for (const [issuedBy, token] of Object.entries(tokenOf)) {
      for (const [name, tenant] of Object.entries(tenants)) {
        expect([issuedBy, name, await userinfoStatus(tenant, token)]).toEqual([issuedBy, name, issuedBy === name ? 200 : 401]);
      }
    }
    // A token with another tenant's issuer but this tenant's key and client is still refused: the issuer is checked.
    const forged = await acme.issueAccessToken({ claims: { iss: globex.issuer } });
    expect(await userinfoStatus(acme, forged)).toBe(401);

    const authorize = new URL(`${acme.baseURL}/authorize`);
    authorize.search = new URLSearchParams({ response_type: 'code', client_id: 'globex-app', redirect_uri: REDIRECT, scope: 'openid' }).toString();
    const refused = await fetch(authorize, { redirect: 'manual' });
    expect(await refused.json()).toMatchObject({ error: 'invalid_client' });
  });

  it('refreshes within a tenant, and refuses its refresh token at another', async () => {
    const tokens = await codeFlow(acme, 'wile@acme.test', 'openid offline_access');
    const refresh = (tenant: FiefDevTenant, clientId: string, secret: string) =>
      fetch(`${tenant.baseURL}/api/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(clientId, secret) },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token }),
      });
    const elsewhere = await refresh(globex, 'globex-app', 'globex-secret');
    expect(elsewhere.status).toBe(400);
    expect(await elsewhere.json()).toMatchObject({ error: 'invalid_grant' });
    const ok = await refresh(acme, 'fief-dev-client-acme', 'fief-dev-secret-acme');
    expect(ok.status).toBe(200);
    expect(decodeJwt(((await ok.json()) as Record<string, string>).access_token)).toMatchObject({ iss: acme.issuer, acr: '0' });
  });

  it('counts, fails and rotates keys per tenant, leaving the others untouched', async () => {
    dev.resetRequestCounts();
    acme.resetRequestCounts();
    globex.setFault('jwks', 'down');
    try {
      await expect(fetch(`${globex.baseURL}/.well-known/jwks.json`)).rejects.toThrow();
      expect((await fetch(`${acme.baseURL}/.well-known/jwks.json`)).status).toBe(200);
      expect((await fetch(`${base}/.well-known/jwks.json`)).status).toBe(200);
    } finally {
      globex.setFault('all', null);
    }
    expect(acme.requestCounts.jwks).toBe(1);
    expect(dev.requestCounts.jwks).toBe(1);

    const before = await acme.issueAccessToken();
    const defaultKid = dev.signingKey.kid;
    await acme.rotateSigningKey({ keepOld: false });
    expect(dev.signingKey.kid).toBe(defaultKid);
    expect(await userinfoStatus(acme, before)).toBe(401);
    expect(await userinfoStatus(acme, await acme.issueAccessToken())).toBe(200);
    expect(decodeProtectedHeader((await codeFlow(acme, 'wile@acme.test')).access_token).kid).toBe(acme.signingKey.kid);
  });

  it("keeps each tenant's browser session apart: logging in to one is no session at another", async () => {
    const jar = new Map<string, string>();
    const browse = async (url: string) => {
      const response = await fetch(url, { redirect: 'manual', headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } });
      for (const line of response.headers.getSetCookie()) {
        const [pair] = line.split(';');
        jar.set(pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1));
      }
      return response;
    };
    const authorize = (tenant: FiefDevTenant, hint: string) =>
      `${tenant.baseURL}/authorize?${new URLSearchParams({ response_type: 'code', client_id: tenant.clients[0].clientId, redirect_uri: REDIRECT, scope: 'openid', login_hint: hint })}`;
    const follow = async (url: string): Promise<URL | string> => {
      let response = await browse(url);
      for (let hop = 0; hop < 10; hop++) {
        const location = response.headers.get('location');
        if (!location) return response.text();
        const next = new URL(location, url);
        if (next.origin !== base) return next;
        response = await browse(next.href);
      }
      throw new Error('too many redirects');
    };
    expect(await follow(authorize(acme, 'wile@acme.test'))).toBeInstanceOf(URL);
    expect([...jar.keys()]).toContain('_session.acme');
    // acme's session makes the next acme login silent, but globex still asks who logs in.
    expect(await follow(authorize(acme, ''))).toBeInstanceOf(URL);
    expect(await follow(authorize(globex, ''))).toContain('Sign in as anne@bretagne.duchy');
    expect(await follow(authorize(dev, ''))).toContain('Sign in as anne@bretagne.duchy');
  });

  it('adds a tenant while running', async () => {
    const initech = await dev.addTenant('initech', { users: [{ email: 'peter@initech.test' }] });
    expect(initech.issuer).toBe(`${base}/initech`);
    expect(await userinfoStatus(initech, await initech.issueAccessToken())).toBe(200);
    expect(dev.tenant('initech').findUser('peter@initech.test')).toBeDefined();
    await expect(dev.addTenant('initech')).rejects.toThrow(/configured twice/);
  });
});

describe('FiefDevServer tenant options', () => {
  it.each([
    ['an uppercase slug', { Acme: {} }, /tenant slug "Acme"/],
    ['a slug that is a route', { api: {} }, /tenant slug "api"/],
    ['a tenant without client', { acme: { clients: [] } }, /tenant acme needs at least one client/],
    ['a tenant with a 1024-bit key', { acme: { keySize: 1024 as 2048 } }, /tenant acme: keySize must be 2048 or 4096/],
    ['a tenant with a relative issuer', { acme: { issuer: '/acme' } }, /issuer must be an absolute URL/],
    ['a tenant webhook without secret', { acme: { webhooks: [{ url: 'http://127.0.0.1:1/hook', secret: '' }] } }, /non-empty secret/],
  ])('refuses %s at construction', (_name, tenants, message) => {
    expect(() => new FiefDevServer({ tenants })).toThrow(message);
  });

  it('names the configured tenants when asked for another', () => {
    expect(() => new FiefDevServer({ tenants: { acme: {} } }).tenant('globex')).toThrow(/no tenant "globex" \(tenants: acme\)/);
  });

  it("puts each tenant's issuer under the server's issuer, or uses its own, and inherits the server's key size", async () => {
    const dev = new FiefDevServer({
      issuer: 'https://fief.example.com',
      keySize: 4096,
      tenants: { acme: {}, globex: { issuer: 'https://globex.example.com', keySize: 2048 } },
    });
    const base = await dev.start();
    try {
      const acme = dev.tenant('acme');
      const globex = dev.tenant('globex');
      expect([dev.issuer, acme.issuer, globex.issuer]).toEqual(['https://fief.example.com', 'https://fief.example.com/acme', 'https://globex.example.com']);
      expect((await getJson(`${base}/acme/.well-known/openid-configuration`)).issuer).toBe('https://fief.example.com/acme');
      const tokens = await codeFlow(globex, 'guest@example.com');
      expect(decodeJwt(tokens.access_token).iss).toBe('https://globex.example.com');
      expect(decodeJwt(tokens.id_token).iss).toBe('https://globex.example.com');
      expect(await userinfoStatus(globex, tokens.access_token)).toBe(200);
      const bits = async (tenant: FiefDevTenant) => Buffer.from((await exportJWK(await importJWK(tenant.signingKey.publicJwk, 'RS256'))).n!, 'base64url').length * 8;
      expect([await bits(dev), await bits(acme), await bits(globex)]).toEqual([4096, 4096, 2048]);
      expect(decodeJwt((await codeFlow(acme, 'anne@bretagne.duchy')).access_token).iss).toBe('https://fief.example.com/acme');
    } finally {
      await dev.stop();
    }
  });
});
