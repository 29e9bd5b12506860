/**
 * Faults of the Fief server: the embedded dev server stopped, slowed, hanging or answering garbage
 * on purpose. The app must start without Fief, answer 503 + Retry-After (never 401, never 500,
 * never a pass) while it cannot check a token, keep validating tokens of keys it already knows,
 * bound every call by the timeout, and bound how often it asks Fief for keys.
 */
import { createPublicKey, randomUUID } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { LoggerService } from '@nestjs/common';
import { exportJWK } from 'jose';
import { FiefClient, FiefModule, FiefUnavailableError, type FiefModuleOptions } from '../../lib/index.js';
import { FiefDevServer } from '../../lib/testing/index.js';
import {
  accessClaims,
  ADAPTERS,
  challengeError,
  ANNE,
  CLIENT,
  expectRefused,
  forgeJwt,
  handlerCalls,
  rsaKey,
  startApp,
  TargetController,
  type AdapterName,
} from '../security/security-fixtures.js';

const TIMEOUT_MS = 300;
/** What a call bounded by TIMEOUT_MS may take end to end on a loaded 2-core machine. */
const BOUND_MS = TIMEOUT_MS + 1200;
const RETRY_AFTER = 7;

/** Counts warnings and errors, as a log pipeline would see them. */
class CountingLogger implements LoggerService {
  readonly lines: string[] = [];
  log() {}
  warn(message: unknown) {
    this.lines.push(String(message));
  }
  error(message: unknown) {
    this.lines.push(String(message));
  }
}

const cleanups: Array<() => Promise<void>> = [];
/** One dev server for the cases that need no special one (a key pair is slow to make). */
let shared: FiefDevServer;

beforeAll(async () => {
  shared = new FiefDevServer();
  await shared.start();
});

afterAll(async () => {
  await shared?.stop();
});

afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
  shared.setFault('all', null);
  shared.resetRequestCounts();
});

/** The shared dev server, clean. */
const sharedDev = async () => shared;

async function startDev(options: ConstructorParameters<typeof FiefDevServer>[0] = {}): Promise<FiefDevServer> {
  const dev = new FiefDevServer(options);
  await dev.start();
  cleanups.push(() => dev.stop());
  return dev;
}

async function appFor(baseURL: string, options: Partial<FiefModuleOptions> = {}, adapter: AdapterName = 'express', logger: LoggerService | false = false) {
  const { app, url } = await startApp(
    adapter,
    {
      imports: [FiefModule.forRoot({ baseURL, ...CLIENT, requestTimeout: TIMEOUT_MS, retryAfter: RETRY_AFTER, ...options })],
      controllers: [TargetController],
    },
    logger,
  );
  cleanups.push(() => app.close());
  return { app, url };
}

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

/** 503 with the configured Retry-After, no handler run, within the bound. */
async function expectUnavailable(url: string, token: string) {
  const started = performance.now();
  const res = await expectRefused(() => fetch(url, bearer(token)), 503, null);
  expect(res.headers.get('retry-after')).toBe(String(RETRY_AFTER));
  expect(performance.now() - started).toBeLessThan(BOUND_MS);
}

async function expectOk(url: string, token: string) {
  const before = handlerCalls.plain + handlerCalls.me;
  const res = await fetch(url, bearer(token));
  expect(res.status).toBe(200);
  expect(handlerCalls.plain + handlerCalls.me).toBe(before + 1);
}

/**
 * Once Fief is back, requests pass again within the app's back-off (`jwksCooldown`, 1 s in these
 * tests; the default 10 s matches the default `Retry-After`), each answer before that being a 503.
 */
async function expectRecovery(url: string, token: string) {
  const started = Date.now();
  for (;;) {
    const res = await fetch(url, bearer(token));
    if (res.status === 200) return;
    expect(res.status).toBe(503);
    expect(Date.now() - started).toBeLessThan(3000);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** A token signed by a key Fief never published, under a fresh kid. */
const unknownKidToken = (dev: FiefDevServer, key = rsaKey()) =>
  forgeJwt({ alg: 'RS256', kid: randomUUID() }, accessClaims(dev.issuer, dev.findUser(ANNE)!.id!), { kind: 'rsa', key });

describe.each(ADAPTERS)('Fief down at boot on %s', (adapter) => {
  it('the app starts without calling Fief, answers 503 + Retry-After, then works when Fief is back, no restart', async () => {
    const dev = await sharedDev();
    const token = await dev.issueAccessToken({ user: ANNE });
    dev.setFault('all', 'down');
    const { url } = await appFor(dev.baseURL, { jwksCooldown: 1 }, adapter);
    expect(Object.values(dev.requestCounts).every((count) => count === 0)).toBe(true);
    await expectUnavailable(`${url}/target/plain`, token);
    await expectUnavailable(`${url}/target/me`, token);
    dev.setFault('all', null);
    await expectRecovery(`${url}/target/plain`, token);
    await expectOk(`${url}/target/me`, token);
  });

  it('with the Fief process gone (connection refused), until a server listens again', async () => {
    const first = await startDev();
    const port = Number(new URL(first.baseURL).port);
    await first.stop();
    const { url } = await appFor(first.baseURL, { jwksCooldown: 1 }, adapter);
    await expectUnavailable(`${url}/target/plain`, 'eyJhbGciOiJSUzI1NiIsImtpZCI6ImsifQ.eyJzdWIiOiJ4In0.c2ln');
    const back = await startDev({ port });
    await expectRecovery(`${url}/target/plain`, await back.issueAccessToken({ user: ANNE }));
  });
});

describe('Fief down at runtime', () => {
  it('tokens signed by known keys keep validating (even past the metadata TTL); an unknown kid gets 503', async () => {
    const dev = await sharedDev();
    const { url } = await appFor(dev.baseURL, { jwksCooldown: 0, metadataTtl: 1 });
    await expectOk(`${url}/target/plain`, await dev.issueAccessToken({ user: ANNE }));
    dev.setFault('all', 'down');
    await expectOk(`${url}/target/plain`, await dev.issueAccessToken({ user: ANNE, scope: ['openid', 'fresh'] }));
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await expectOk(`${url}/target/plain`, await dev.issueAccessToken({ user: ANNE, scope: ['openid', 'later'] }));
    await expectUnavailable(`${url}/target/plain`, unknownKidToken(dev));
    // A token whose verdict does not depend on Fief is still refused as such, never 503.
    await expectRefused(() => fetch(`${url}/target/plain`, bearer('not-a-jwt')), 401, 'invalid_token');
    dev.setFault('all', null);
    await expectRefused(() => fetch(`${url}/target/plain`, bearer(unknownKidToken(dev))), 401, 'invalid_token');
  });
});

describe('slow and hanging endpoints', () => {
  it.each(['discovery', 'jwks'] as const)('a hanging %s endpoint: 503 within the timeout, the event loop stays free', async (endpoint) => {
    const dev = await sharedDev();
    const token = await dev.issueAccessToken({ user: ANNE });
    dev.setFault(endpoint, 'hang');
    const { url } = await appFor(dev.baseURL);
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const started = performance.now();
    const answers = await Promise.all(Array.from({ length: 20 }, () => fetch(`${url}/target/plain`, bearer(token))));
    loop.disable();
    expect(answers.map((res) => res.status)).toEqual(Array(20).fill(503));
    expect(performance.now() - started).toBeLessThan(BOUND_MS);
    // A loop blocked for the hang would show the whole timeout (300 ms); CPU shared with other
    // processes shows up too, hence the margin.
    expect(loop.max / 1e6).toBeLessThan(250);
    // Concurrent cold requests share one call.
    expect(dev.requestCounts[endpoint]).toBe(1);
  });

  it('a hanging userinfo endpoint: @CurrentUser routes answer 503 within the timeout, others 200', async () => {
    const dev = await sharedDev();
    const { url } = await appFor(dev.baseURL);
    const token = await dev.issueAccessToken({ user: ANNE });
    await expectOk(`${url}/target/plain`, token);
    dev.setFault('userinfo', 'hang');
    await expectUnavailable(`${url}/target/me`, token);
    await expectOk(`${url}/target/plain`, token);
  });

  it('a hanging or slow token endpoint: the client call fails with FiefUnavailableError within the timeout', async () => {
    const dev = await sharedDev();
    const client = new FiefClient({ baseURL: dev.baseURL, ...CLIENT, requestTimeout: TIMEOUT_MS });
    dev.setFault('token', 'hang');
    let started = performance.now();
    await expect(client.authRefreshToken('some-refresh-token')).rejects.toBeInstanceOf(FiefUnavailableError);
    expect(performance.now() - started).toBeLessThan(BOUND_MS);
    dev.setFault('token', `slow:${TIMEOUT_MS * 3}`);
    started = performance.now();
    await expect(client.authCallback('code', 'http://127.0.0.1:9/cb')).rejects.toBeInstanceOf(FiefUnavailableError);
    expect(performance.now() - started).toBeLessThan(BOUND_MS);
  });

  it('a slow Fief within the timeout is waited for', async () => {
    const dev = await sharedDev();
    dev.setFault('all', `slow:${TIMEOUT_MS / 3}`);
    const { url } = await appFor(dev.baseURL);
    const token = await dev.issueAccessToken({ user: ANNE });
    await expectOk(`${url}/target/plain`, token);
    await expectOk(`${url}/target/me`, token);
  });
});

describe('garbage answers', () => {
  it.each([
    ['discovery', 'html'],
    ['discovery', '500'],
    ['jwks', 'html'],
    ['jwks', '500'],
  ] as const)('%s answering %s: 503, never a crash, then recovers', async (endpoint, fault) => {
    const dev = await sharedDev();
    dev.setFault(endpoint, fault);
    const { url } = await appFor(dev.baseURL, { jwksCooldown: 0 });
    const token = await dev.issueAccessToken({ user: ANNE });
    await expectUnavailable(`${url}/target/plain`, token);
    dev.setFault(endpoint, null);
    await expectOk(`${url}/target/plain`, token);
  });

  /** A fetch that answers `replace(url)` instead of Fief when it returns a Response. */
  const rewriting =
    (replace: (url: string, real: () => Promise<Response>) => Promise<Response> | undefined): typeof fetch =>
    (input, init) => {
      const target = String(input instanceof Request ? input.url : input);
      return replace(target, () => fetch(input, init)) ?? fetch(input, init);
    };

  it.each(['html', '500'] as const)('userinfo answering %s: @CurrentUser routes 503, token-only routes unaffected', async (fault) => {
    const dev = await sharedDev();
    const { url } = await appFor(dev.baseURL);
    const token = await dev.issueAccessToken({ user: ANNE });
    dev.setFault('userinfo', fault);
    await expectUnavailable(`${url}/target/me`, token);
    await expectOk(`${url}/target/plain`, token);
    dev.setFault('userinfo', null);
    await expectOk(`${url}/target/me`, token);
  });

  it('userinfo refusing the token (a user deactivated at Fief): 401 invalid_token, not 503', async () => {
    const dev = await sharedDev();
    const { url } = await appFor(dev.baseURL, {
      fetch: rewriting((target) =>
        target.endsWith('/api/userinfo')
          ? Promise.resolve(Response.json({ detail: 'Unauthorized' }, { status: 401, headers: { 'www-authenticate': 'Bearer' } }))
          : undefined,
      ),
    });
    const token = await dev.issueAccessToken({ user: ANNE });
    await expectRefused(() => fetch(`${url}/target/me`, bearer(token)), 401, 'invalid_token');
  });

  it.each([
    ['a redirect to another host', async () => new Response(null, { status: 302, headers: { location: 'http://evil.example/jwks.json' } })],
    ['a JSON array', async () => Response.json([])],
    ['keys that are not an array', async () => Response.json({ keys: {} })],
    ['an empty key set', async () => Response.json({ keys: [] })],
    ['only symmetric keys', async () => Response.json({ keys: [{ kty: 'oct', k: 'c2VjcmV0', kid: 'k' }] })],
  ])('a JWKS answering %s: 503', async (_label, answer) => {
    const dev = await sharedDev();
    const { url } = await appFor(dev.baseURL, { fetch: rewriting((target) => (target.endsWith('/jwks.json') ? answer() : undefined)) });
    await expectUnavailable(`${url}/target/plain`, await dev.issueAccessToken({ user: ANNE }));
  });

  it('a JWKS that leaks the private signing key: the key is not used, 503', async () => {
    const dev = await sharedDev();
    const privateJwk = { ...(await exportJWK(dev.signingKey.privateKey)), kid: dev.signingKey.kid, alg: 'RS256', use: 'sig' };
    const { url } = await appFor(dev.baseURL, {
      fetch: rewriting((target) => (target.endsWith('/jwks.json') ? Promise.resolve(Response.json({ keys: [privateJwk] })) : undefined)),
    });
    await expectUnavailable(`${url}/target/plain`, await dev.issueAccessToken({ user: ANNE }));
  });

  it('a JWKS whose only key is a weak 1024-bit RSA key: 503, the weak key is never trusted', async () => {
    const dev = await sharedDev();
    const weak = rsaKey(1024);
    const kid = 'weak-key';
    const weakJwk = { ...(await exportJWK(createPublicKey(weak))), kid, alg: 'RS256', use: 'sig' };
    const { url } = await appFor(dev.baseURL, {
      fetch: rewriting((target) => (target.endsWith('/jwks.json') ? Promise.resolve(Response.json({ keys: [weakJwk] })) : undefined)),
    });
    const token = forgeJwt({ alg: 'RS256', kid }, accessClaims(dev.issuer, dev.findUser(ANNE)!.id!), { kind: 'rsa', key: weak });
    await expectUnavailable(`${url}/target/plain`, token);
  });

  it('a discovery redirect: 503, and the redirect is not followed', async () => {
    const dev = await sharedDev();
    let followed = 0;
    const { url } = await appFor(dev.baseURL, {
      fetch: rewriting((target) => {
        if (target.includes('evil.example')) followed++;
        return target.endsWith('/openid-configuration')
          ? Promise.resolve(new Response(null, { status: 301, headers: { location: 'http://evil.example/.well-known/openid-configuration' } }))
          : undefined;
      }),
    });
    await expectUnavailable(`${url}/target/plain`, await dev.issueAccessToken({ user: ANNE }));
    expect(followed).toBe(0);
  });

  it('a burst of 503s while Fief answers garbage is logged once per window, not once per request', async () => {
    const dev = await sharedDev();
    dev.setFault('all', 'html');
    const logger = new CountingLogger();
    const { url } = await appFor(dev.baseURL, {}, 'express', logger);
    const token = await dev.issueAccessToken({ user: ANNE });
    for (let i = 0; i < 30; i++) expect((await fetch(`${url}/target/plain`, bearer(token))).status).toBe(503);
    expect(logger.lines.length).toBeGreaterThanOrEqual(1);
    expect(logger.lines.length).toBeLessThanOrEqual(2);
  });
});

describe('key rotation and unknown kids', () => {
  it('rotation mid-traffic: no request fails, old-key tokens keep passing, new-key tokens pass at once', async () => {
    const dev = await sharedDev();
    const { url } = await appFor(dev.baseURL, { jwksCooldown: 1 });
    const statuses: number[] = [];
    let rotated = false;
    const started = Date.now();
    const oldTokens = await Promise.all(Array.from({ length: 5 }, (_, i) => dev.issueAccessToken({ user: ANNE, scope: ['openid', `old${i}`] })));
    const worker = async (id: number) => {
      for (let i = 0; Date.now() - started < 2500; i++) {
        const token = rotated && i % 2 ? await dev.issueAccessToken({ user: ANNE, scope: ['openid', `w${id}-${i}`] }) : oldTokens[i % oldTokens.length];
        statuses.push((await fetch(`${url}/target/plain`, bearer(token))).status);
      }
    };
    const traffic = Promise.all(Array.from({ length: 8 }, (_, id) => worker(id)));
    await new Promise((resolve) => setTimeout(resolve, 1200));
    await dev.rotateSigningKey();
    rotated = true;
    await traffic;
    expect(statuses.length).toBeGreaterThan(50);
    expect(statuses.filter((status) => status !== 200)).toEqual([]);
  });

  it('a key rotated in just after a JWKS fetch: its valid tokens are never refused as invalid (401)', async () => {
    const dev = await sharedDev();
    const { url } = await appFor(dev.baseURL);
    // The app fetches the keys now (a first request, or any unknown kid once the cooldown is over)...
    await expectOk(`${url}/target/plain`, await dev.issueAccessToken({ user: ANNE }));
    // ...then Fief rotates, as it does, signing at once with a key that fetch could not see.
    await dev.rotateSigningKey();
    const res = await fetch(`${url}/target/plain`, bearer(await dev.issueAccessToken({ user: ANNE })));
    // 200, or a 503 + Retry-After while the refetch cooldown runs; a 401 would log the user out.
    expect([res.status, res.status === 503 ? res.headers.get('retry-after') : 'n/a']).toEqual(
      res.status === 200 ? [200, 'n/a'] : [503, expect.stringMatching(/^\d+$/)],
    );
  });

  it('a burst of 200 unknown kids causes at most 2 JWKS fetches with Fief up, and none more with Fief down', async () => {
    const dev = await sharedDev();
    const { url } = await appFor(dev.baseURL);
    await expectOk(`${url}/target/plain`, await dev.issueAccessToken({ user: ANNE }));
    dev.resetRequestCounts();
    const key = rsaKey();
    // Each answer is a refusal: 401 when the key set was checked, or 503 + Retry-After while the
    // refetch cooldown runs (either keeps the handler from running and Fief from being flooded).
    const burst = async () => {
      const before = handlerCalls.plain;
      const statuses = new Set<number>();
      for (let wave = 0; wave < 5; wave++) {
        const answers = await Promise.all(Array.from({ length: 20 }, () => fetch(`${url}/target/plain`, bearer(unknownKidToken(dev, key)))));
        for (const res of answers) {
          statuses.add(res.status);
          if (res.status === 503) expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
          else expect(challengeError(res.headers.get('www-authenticate'))).toBe('invalid_token');
        }
      }
      expect([...statuses].every((status) => status === 401 || status === 503)).toBe(true);
      expect(handlerCalls.plain).toBe(before);
    };
    await burst();
    expect(dev.requestCounts.jwks).toBeLessThanOrEqual(2);
    const upFetches = dev.requestCounts.jwks;
    dev.setFault('all', 'down');
    await burst();
    expect(dev.requestCounts.jwks).toBe(upFetches);
  });

  it('while Fief is down from boot, a burst of 200 requests makes a bounded number of attempts to reach it', async () => {
    const dev = await sharedDev();
    dev.setFault('all', 'down');
    const { url } = await appFor(dev.baseURL);
    const token = await dev.issueAccessToken({ user: ANNE });
    for (let wave = 0; wave < 20; wave++) {
      const answers = await Promise.all(Array.from({ length: 10 }, () => fetch(`${url}/target/plain`, bearer(token))));
      expect(answers.map((res) => res.status)).toEqual(Array(10).fill(503));
    }
    expect(dev.requestCounts.discovery + dev.requestCounts.jwks).toBeLessThanOrEqual(5);
  });
});
