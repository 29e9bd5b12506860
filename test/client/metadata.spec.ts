/**
 * Discovery and JWKS: lazy, single-flight, cached with expiry, rate-limited refetch on an unknown
 * kid, stale keys served while Fief is down, and every failure mode of Fief mapped to
 * FiefUnavailableError (so callers answer 503, not 401). Against the live dev server.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { FiefClient } from '../../lib/client/fief-client.js';
import { FiefAccessTokenInvalid, FiefUnavailableError } from '../../lib/client/errors.js';
import type { FiefClientOptions } from '../../lib/client/types.js';
import { FiefDevServer } from '../../lib/testing/index.js';
import { sendJson, startStubServer } from './stub-http-server.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('FiefClient discovery and keys', () => {
  let dev: FiefDevServer;
  const client = (options: Partial<FiefClientOptions> = {}) =>
    new FiefClient({ baseURL: dev.baseURL, clientId: 'fief-dev-client', clientSecret: 'fief-dev-secret', ...options });

  beforeAll(async () => {
    dev = new FiefDevServer();
    await dev.start();
  });
  afterEach(() => {
    dev.setFault('all', null);
    dev.resetRequestCounts();
  });
  afterAll(() => dev.stop());

  it('does no I/O at construction', async () => {
    dev.resetRequestCounts();
    client();
    await sleep(50);
    expect(dev.requestCounts.discovery + dev.requestCounts.jwks).toBe(0);
  });

  it('fetches discovery and JWKS exactly once for 200 concurrent first validations', async () => {
    const tokens = await Promise.all(Array.from({ length: 10 }, (_, index) => dev.issueAccessToken({ expiresIn: 3600 + index })));
    const fief = client();
    dev.resetRequestCounts();
    const results = await Promise.all(Array.from({ length: 200 }, (_, index) => fief.validateAccessToken(tokens[index % 10])));
    expect(results.every((info) => info.id === dev.users[0].id)).toBe(true);
    expect(dev.requestCounts).toMatchObject({ discovery: 1, jwks: 1 });
  });

  it('does not cache a failed fetch: retried once the cooldown has passed, not before', async () => {
    const fief = client({ jwksCooldown: 0.3 });
    const token = await dev.issueAccessToken();
    dev.setFault('discovery', '500');
    await expect(fief.verifyAccessToken(token)).rejects.toBeInstanceOf(FiefUnavailableError);
    dev.setFault('discovery', null);
    // A Fief that is down or restarting is not hammered by every request meanwhile.
    await expect(fief.verifyAccessToken(token)).rejects.toBeInstanceOf(FiefUnavailableError);
    expect(dev.requestCounts.discovery).toBe(1);
    await sleep(350);
    expect((await fief.verifyAccessToken(token)).id).toBe(dev.users[0].id);
    expect(dev.requestCounts.discovery).toBe(2);
  });

  it('refetches the JWKS for an unknown kid once per cooldown: key rotation with no restart', async () => {
    // A cooldown long enough to cover generating the new RSA key on a busy machine.
    const fief = client({ jwksCooldown: 2, tokenCache: false });
    expect((await fief.verifyAccessToken(await dev.issueAccessToken())).id).toBeDefined();
    await dev.rotateSigningKey();
    const rotated = await dev.issueAccessToken();
    dev.resetRequestCounts();

    // Right after the first fetch the cooldown holds: Fief is not asked again, and a token issued
    // since that fetch is "try again" (503), not "invalid" (401): its key may be a new one.
    const early = await Promise.all(Array.from({ length: 20 }, () => fief.verifyAccessToken(rotated).catch((error: unknown) => error)));
    expect(early.every((error) => error instanceof FiefUnavailableError && /Unknown signing key/.test(error.message))).toBe(true);
    expect(dev.requestCounts.jwks).toBe(0);

    await sleep(2050);
    const later = await Promise.all(Array.from({ length: 20 }, () => fief.verifyAccessToken(rotated)));
    expect(later.every((info) => info.id === dev.users[0].id)).toBe(true);
    expect(dev.requestCounts.jwks).toBe(1);

    // Junk kids cannot make the client hammer Fief.
    const { privateKey } = await generateKeyPair('RS256');
    const junk = await new SignJWT({ sub: 'x', scope: 'openid' }).setProtectedHeader({ alg: 'RS256', kid: 'junk' }).sign(privateKey);
    for (let attempt = 0; attempt < 30; attempt++) await expect(fief.verifyAccessToken(junk)).rejects.toBeInstanceOf(FiefAccessTokenInvalid);
    expect(dev.requestCounts.jwks).toBe(1);
  });

  it('keeps validating with known keys while the JWKS is down; an unknown kid then gives FiefUnavailableError', async () => {
    const fief = client({ jwksCooldown: 0, metadataTtl: 0.05, tokenCache: false });
    const known = await dev.issueAccessToken();
    await fief.verifyAccessToken(known);
    dev.setFault('all', 'down');
    await sleep(80); // past metadataTtl: refreshes fail, the known keys are still served
    for (let attempt = 0; attempt < 3; attempt++) expect((await fief.verifyAccessToken(known)).id).toBe(dev.users[0].id);

    await dev.rotateSigningKey();
    const unknown = await dev.issueAccessToken();
    await sleep(30); // let the background refresh settle so the unknown kid triggers its own fetch
    const error = await fief.verifyAccessToken(unknown).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FiefUnavailableError);

    dev.setFault('all', null);
    await sleep(30);
    expect((await fief.verifyAccessToken(unknown)).id).toBe(dev.users[0].id);
  });

  it('drops a key Fief withdrew once the JWKS is refreshed', async () => {
    const fief = client({ metadataTtl: 0.1, tokenCache: false });
    // Issued well before the refresh, so its now unknown key is a verdict (401), not a maybe-new key.
    const old = await dev.issueAccessToken({ claims: { iat: Math.floor(Date.now() / 1000) - 120 } });
    await fief.verifyAccessToken(old);
    await dev.rotateSigningKey({ keepOld: false });
    await sleep(150);
    await fief.verifyAccessToken(old).catch(() => undefined); // triggers the background refresh
    await sleep(50);
    await expect(fief.verifyAccessToken(old)).rejects.toThrow(/no key/);
    expect((await fief.verifyAccessToken(await dev.issueAccessToken())).id).toBe(dev.users[0].id);
  });

  it.each([
    ['hang', /did not answer within 200 ms/],
    ['down', /unreachable/],
    ['html', /non-JSON body \(text\/html\)/],
    ['500', /answered 500/],
  ] as const)('maps a discovery that is %s to FiefUnavailableError', async (fault, message) => {
    const fief = client({ requestTimeout: 200 });
    dev.setFault('discovery', fault);
    const started = Date.now();
    const error = await fief.verifyAccessToken(await dev.issueAccessToken()).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FiefUnavailableError);
    expect((error as Error).message).toMatch(message);
    expect(Date.now() - started).toBeLessThan(2000);
    await expect(fief.authUrl('http://127.0.0.1:9999/cb')).rejects.toBeInstanceOf(FiefUnavailableError);
  });

  it.each(['token', 'userinfo', 'jwks'] as const)('maps a hanging %s endpoint to FiefUnavailableError within requestTimeout', async (endpoint) => {
    const fief = client({ requestTimeout: 200 });
    await fief.authUrl('http://127.0.0.1:9999/cb'); // discovery is fine
    dev.setFault(endpoint, 'hang');
    const call =
      endpoint === 'token'
        ? fief.authRefreshToken('some-refresh-token')
        : endpoint === 'userinfo'
          ? fief.userinfo(await dev.issueAccessToken())
          : fief.verifyAccessToken(await dev.issueAccessToken());
    await expect(call).rejects.toThrow(/did not answer within 200 ms/);
  });

  it('waits for a slow Fief within requestTimeout', async () => {
    const fief = client({ requestTimeout: 2000 });
    dev.setFault('jwks', 'slow:150');
    expect((await fief.verifyAccessToken(await dev.issueAccessToken())).id).toBe(dev.users[0].id);
  });

  it('maps a token endpoint answering HTML or 500 to FiefUnavailableError', async () => {
    const fief = client();
    for (const fault of ['html', '500'] as const) {
      dev.setFault('token', fault);
      await expect(fief.authRefreshToken('some-refresh-token')).rejects.toBeInstanceOf(FiefUnavailableError);
    }
  });
});

describe('FiefClient against a Fief that answers badly', () => {
  let dev: FiefDevServer;
  beforeAll(async () => {
    dev = new FiefDevServer();
    await dev.start();
  });
  afterAll(() => dev.stop());

  it('refuses to follow a redirect from discovery', async () => {
    const stub = await startStubServer((_req, res) => res.writeHead(302, { location: `${dev.baseURL}/.well-known/openid-configuration` }).end());
    try {
      const fief = new FiefClient({ baseURL: stub.baseURL, clientId: 'fief-dev-client' });
      await expect(fief.authUrl('http://127.0.0.1:9999/cb')).rejects.toThrow(/redirect \(302\)/);
    } finally {
      await stub.close();
    }
  });

  it('ignores JWKS entries that carry private parts, are too short, or are not RS256 signing keys', async () => {
    // jose will not make a key this short; node:crypto will.
    const shortJwk = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' });
    const { privateKey: leakedKey } = await generateKeyPair('RS256', { extractable: true });
    const genuine = dev.signingKey.publicJwk;
    let keys: unknown[] = [];
    const stub = await startStubServer((req, res, base) => {
      if (req.url === '/.well-known/openid-configuration') {
        return sendJson(res, 200, {
          issuer: dev.issuer,
          authorization_endpoint: `${base}/authorize`,
          token_endpoint: `${base}/api/token`,
          userinfo_endpoint: `${base}/api/userinfo`,
          jwks_uri: `${base}/.well-known/jwks.json`,
        });
      }
      sendJson(res, 200, { keys });
    });
    try {
      const bad = [
        { ...(await exportJWK(leakedKey)), kid: genuine.kid },
        { ...shortJwk, kid: genuine.kid },
        { ...genuine, use: 'enc' },
        { ...genuine, alg: 'RS512' },
        { ...genuine, kty: 'EC' },
        { ...genuine, kid: undefined },
      ];
      keys = bad;
      const token = await dev.issueAccessToken();
      const fief = new FiefClient({ baseURL: stub.baseURL, clientId: 'fief-dev-client', jwksCooldown: 0 });
      const error = await fief.verifyAccessToken(token).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(FiefUnavailableError);
      expect((error as Error).message).toMatch(/no usable RS256 public signing key/);

      // The same poisoned entries next to the genuine key: only the genuine one is used.
      keys = [...bad.slice(0, 2), genuine];
      expect((await fief.verifyAccessToken(token)).id).toBe(dev.users[0].id);
    } finally {
      await stub.close();
    }
  });

  it('maps a 404 discovery (wrong baseURL or tenant path) to FiefUnavailableError, on every path', async () => {
    const fief = new FiefClient({ baseURL: `${dev.baseURL}/no-such-tenant`, clientId: 'fief-dev-client', clientSecret: 'fief-dev-secret' });
    const token = await dev.issueAccessToken();
    for (const call of [fief.verifyAccessToken(token), fief.authUrl('http://127.0.0.1:9999/cb'), fief.authRefreshToken('r'), fief.userinfo(token)]) {
      const error = await call.catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(FiefUnavailableError);
      expect((error as Error).message).toMatch(/discovery at .*\/no-such-tenant\/.* answered 404; check baseURL/);
    }
  });

  it('maps a 404 JWKS to FiefUnavailableError, and recovers on the next call once the JWKS answers', async () => {
    const genuine = dev.signingKey.publicJwk;
    let jwks: { status: number; body: unknown } = { status: 404, body: { detail: 'Not Found' } };
    const stub = await startStubServer((req, res, base) => {
      if (req.url === '/.well-known/openid-configuration') {
        return sendJson(res, 200, {
          issuer: dev.issuer,
          authorization_endpoint: `${base}/authorize`,
          token_endpoint: `${base}/api/token`,
          userinfo_endpoint: `${base}/api/userinfo`,
          jwks_uri: `${base}/.well-known/jwks.json`,
        });
      }
      sendJson(res, jwks.status, jwks.body);
    });
    try {
      const fief = new FiefClient({ baseURL: stub.baseURL, clientId: 'fief-dev-client', jwksCooldown: 0 });
      const token = await dev.issueAccessToken();
      const error = await fief.verifyAccessToken(token).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(FiefUnavailableError);
      expect((error as Error).message).toMatch(/JWKS at .* answered 404/);

      jwks = { status: 200, body: { keys: [genuine] } };
      expect((await fief.verifyAccessToken(token)).id).toBe(dev.users[0].id);
    } finally {
      await stub.close();
    }
  });

  it.each([
    ['declares', true],
    ['streams without declaring', false],
  ])('stops reading a discovery that %s more than 1 MiB, and says so', async (_name, declared) => {
    const huge = JSON.stringify({ issuer: 'https://fief.example', padding: 'x'.repeat(2 * 1024 * 1024) });
    const stub = await startStubServer((_req, res) => {
      res.writeHead(200, declared ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(huge) } : { 'content-type': 'application/json' });
      res.end(huge);
    });
    try {
      const fief = new FiefClient({ baseURL: stub.baseURL, clientId: 'fief-dev-client' });
      const error = await fief.authUrl('http://127.0.0.1:9999/cb').catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(FiefUnavailableError);
      expect((error as Error).message).toMatch(/answered more than 1048576 bytes/);
    } finally {
      await stub.close();
    }
  });

  it('refuses a discovery document without the endpoints it needs', async () => {
    const stub = await startStubServer((_req, res) => sendJson(res, 200, { issuer: 'https://fief.example' }));
    try {
      const fief = new FiefClient({ baseURL: stub.baseURL, clientId: 'fief-dev-client' });
      await expect(fief.authUrl('http://127.0.0.1:9999/cb')).rejects.toThrow(/no valid "authorization_endpoint"/);
    } finally {
      await stub.close();
    }
  });
});
