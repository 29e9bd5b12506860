/**
 * Spans and metrics through a real Nest app against the live dev server, read back from the
 * OpenTelemetry SDK's in-memory exporters. Counts are process-wide, so each test asserts the change
 * a known sequence of requests makes.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { INestApplication } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import request from 'supertest';
import { FiefModule, FiefService } from '../../lib/index.js';
import { FiefDevServer } from '../../lib/testing/index.js';
import { ADAPTERS, ANNE, CLIENT, createApp, GUEST, tamper, TelemetryController } from './fixtures.js';
import { matching, OtelHarness, total, type Point } from './otel-harness.js';

const VERIFICATIONS = 'fief.token.verifications';
const LOOKUPS = 'fief.cache.lookups';
const REFUSALS = 'fief.auth.refusals';
const DURATION = 'fief.client.request.duration';

/** The API as the module loads it (createRequire): under Jest, not the instance an `import` gives. */
const api = createRequire(import.meta.url)('@opentelemetry/api') as typeof import('@opentelemetry/api');
const { metrics, trace } = api;

const otel = new OtelHarness();
beforeAll(() => otel.install());
afterAll(() => otel.uninstall());

/** What a sequence of requests added to a metric. */
async function change(before: Point[], name: string, attributes: Record<string, unknown> = {}): Promise<number> {
  const after = await otel.points();
  return total(after, name, attributes as never) - total(before, name, attributes as never);
}

describe.each(ADAPTERS)('telemetry on %s', (adapter) => {
  let dev: FiefDevServer;
  let baseURL: string;
  let app: INestApplication;
  let server: any;

  const get = (path: string, token?: string, to = server) => {
    const req = request(to).get(path);
    return token === undefined ? req : req.set('Authorization', `Bearer ${token}`);
  };

  /** A token no earlier test used (the same claims in the same second would sign to the same token). */
  const token = (user: string) => dev.issueAccessToken({ user, claims: { jti: randomUUID() } });

  beforeAll(async () => {
    dev = new FiefDevServer();
    baseURL = await dev.start();
    app = await createApp(adapter, {
      imports: [FiefModule.forRoot({ baseURL, ...CLIENT, jwksCooldown: 0 })],
      controllers: [TelemetryController],
    });
    server = app.getHttpServer();
  });

  afterAll(async () => {
    await app?.close();
    await dev?.stop();
  });

  beforeEach(() => otel.spanExporter.reset());
  afterEach(() => dev.setFault('all', null));

  it('a first request: discovery and JWKS spans, one valid verification and one miss; the same token again: one hit, nothing else', async () => {
    const anne = await token(ANNE);
    const before = await otel.points();
    expect((await get('/t/plain', anne)).status).toBe(200);

    const [discovery, ...moreDiscovery] = otel.spans('fief.discovery');
    expect(moreDiscovery).toEqual([]);
    expect(discovery.kind).toBe(SpanKind.CLIENT);
    expect(discovery.status.code).toBe(SpanStatusCode.UNSET);
    expect(discovery.instrumentationScope.name).toBe('nestjs-fief');
    expect(discovery.attributes).toEqual({
      'fief.call': 'discovery',
      'http.request.method': 'GET',
      'http.response.status_code': 200,
      'url.full': `${baseURL}/.well-known/openid-configuration`,
      'url.template': '/.well-known/openid-configuration',
      'server.address': '127.0.0.1',
      'server.port': Number(new URL(baseURL).port),
    });
    const [jwks, ...moreJwks] = otel.spans('fief.jwks');
    expect(moreJwks).toEqual([]);
    expect(jwks.attributes).toMatchObject({ 'fief.call': 'jwks', 'http.request.method': 'GET', 'http.response.status_code': 200 });
    expect(jwks.attributes['url.template']).toMatch(/jwks/);

    expect(await change(before, VERIFICATIONS, { 'fief.outcome': 'valid' })).toBe(1);
    expect(await change(before, VERIFICATIONS)).toBe(1);
    expect(await change(before, LOOKUPS, { 'fief.cache': 'verified_token', 'fief.cache.result': 'miss' })).toBe(1);
    expect(await change(before, LOOKUPS, { 'fief.cache': 'verified_token', 'fief.cache.result': 'hit' })).toBe(0);
    const points = await otel.points();
    for (const call of ['discovery', 'jwks']) {
      const answered = { 'fief.call': call, 'http.request.method': 'GET', 'http.response.status_code': 200 };
      const [latency, ...others] = matching(points, DURATION, answered);
      expect(others).toEqual([]);
      expect(latency.unit).toBe('s');
      expect(latency.value - total(before, DURATION, answered)).toBe(1);
      expect(latency.sum).toBeGreaterThan(0);
    }

    otel.spanExporter.reset();
    const middle = await otel.points();
    expect((await get('/t/plain', anne)).status).toBe(200);
    expect(await change(middle, LOOKUPS, { 'fief.cache': 'verified_token', 'fief.cache.result': 'hit' })).toBe(1);
    expect(await change(middle, LOOKUPS, { 'fief.cache.result': 'miss' })).toBe(0);
    expect(await change(middle, VERIFICATIONS)).toBe(0);
    expect(await change(middle, DURATION)).toBe(0);
    expect(otel.spans()).toEqual([]);
  });

  it('refusals by status: no token, a forged one, an expired one, one without the permission', async () => {
    const anne = await token(ANNE);
    const guest = await token(GUEST);
    const past = Math.floor(Date.now() / 1000) - 3600;
    const expired = await dev.issueAccessToken({ user: ANNE, claims: { iat: past - 60, exp: past, jti: randomUUID() } });
    await get('/t/plain', anne); // keys fetched
    const before = await otel.points();

    expect((await get('/t/plain')).status).toBe(401);
    expect(await change(before, REFUSALS, { 'http.response.status_code': 401, 'fief.error': undefined })).toBe(1);

    expect((await get('/t/plain', tamper(anne))).status).toBe(401);
    expect(await change(before, REFUSALS, { 'http.response.status_code': 401, 'fief.error': 'invalid_token' })).toBe(1);
    expect(await change(before, VERIFICATIONS, { 'fief.outcome': 'invalid' })).toBe(1);

    expect((await get('/t/plain', expired)).status).toBe(401);
    expect(await change(before, REFUSALS, { 'http.response.status_code': 401, 'fief.error': 'invalid_token' })).toBe(2);
    expect(await change(before, VERIFICATIONS, { 'fief.outcome': 'expired' })).toBe(1);
    expect(await change(before, VERIFICATIONS, { 'fief.outcome': 'invalid' })).toBe(1);

    expect((await get('/t/create', guest)).status).toBe(403);
    expect(await change(before, REFUSALS, { 'http.response.status_code': 403, 'fief.error': 'insufficient_scope' })).toBe(1);
    expect(await change(before, VERIFICATIONS, { 'fief.outcome': 'valid' })).toBe(1);
    expect(await change(before, REFUSALS)).toBe(4);
    // Refused tokens were looked up and missed like any other.
    expect(await change(before, LOOKUPS, { 'fief.cache': 'verified_token', 'fief.cache.result': 'miss' })).toBe(3);
  });

  it('@CurrentUser(): a userinfo span and a user-info miss, then a hit with no call', async () => {
    const anne = await token(ANNE);
    await get('/t/plain', anne);
    otel.spanExporter.reset();
    const before = await otel.points();

    expect((await get('/t/me', anne)).body).toEqual({ email: ANNE });
    const [userinfo, ...more] = otel.spans('fief.userinfo');
    expect(more).toEqual([]);
    expect(userinfo.attributes).toMatchObject({
      'fief.call': 'userinfo',
      'http.request.method': 'GET',
      'http.response.status_code': 200,
      'url.template': '/api/userinfo',
    });
    expect(await change(before, LOOKUPS, { 'fief.cache': 'user_info', 'fief.cache.result': 'miss' })).toBe(1);
    expect(await change(before, LOOKUPS, { 'fief.cache': 'user_info', 'fief.cache.result': 'hit' })).toBe(0);

    otel.spanExporter.reset();
    expect((await get('/t/me', anne)).body).toEqual({ email: ANNE });
    expect(otel.spans()).toEqual([]);
    expect(await change(before, LOOKUPS, { 'fief.cache': 'user_info', 'fief.cache.result': 'hit' })).toBe(1);
    expect(await change(before, LOOKUPS, { 'fief.cache': 'user_info', 'fief.cache.result': 'miss' })).toBe(1);
  });

  it('the user API: a fief.user_api span with its method and path', async () => {
    const anne = await token(ANNE);
    const res = await request(server).patch('/t/profile').set('Authorization', `Bearer ${anne}`).send({ fields: { first_name: 'Anne' } });
    expect(res.status).toBe(200);
    const [profile, ...more] = otel.spans('fief.user_api');
    expect(more).toEqual([]);
    expect(profile.kind).toBe(SpanKind.CLIENT);
    expect(JSON.stringify([profile.attributes, profile.events])).not.toContain(anne);
    expect(profile.attributes).toMatchObject({
      'fief.call': 'user_api',
      'http.request.method': 'PATCH',
      'http.response.status_code': 200,
      'url.template': '/api/profile',
    });
  });

  it('the token endpoint: a fief.token span, and an ERROR span with error.type 400 when Fief refuses the code', async () => {
    const fief = app.get(FiefService);
    const redirectUri = 'http://127.0.0.1:3999/callback';
    const codeVerifier = await fief.generateCodeVerifier();
    const url = await fief.authUrl(redirectUri, { codeChallenge: await fief.getCodeChallenge(codeVerifier), codeChallengeMethod: 'S256' });
    const { code } = await dev.login(url, { email: ANNE });
    otel.spanExporter.reset();
    const before = await otel.points();
    const exchange = () => request(server).post('/t/exchange').send({ code, redirectUri, codeVerifier });

    expect((await exchange()).body).toEqual({ ok: true });
    const [exchanged] = otel.spans('fief.token');
    expect(exchanged.attributes).toMatchObject({ 'fief.call': 'token', 'http.request.method': 'POST', 'http.response.status_code': 200 });
    expect(exchanged.status.code).toBe(SpanStatusCode.UNSET);

    // A code is single use: Fief answers 400 invalid_grant.
    expect((await exchange()).body).toEqual({ ok: false, error: 'FiefRequestError' });
    const [, refused] = otel.spans('fief.token');
    expect(refused.status.code).toBe(SpanStatusCode.ERROR);
    expect(refused.attributes).toMatchObject({ 'http.response.status_code': 400, 'error.type': '400' });
    expect(refused.events.map((event) => event.name)).toContain('exception');
    // Nothing secret is reported: not the code, the verifier, the client secret nor any token.
    const reported = JSON.stringify(otel.spans().map((span) => [span.attributes, span.events, span.status]));
    for (const secret of [code, codeVerifier, CLIENT.clientSecret, btoa(`${CLIENT.clientId}:${CLIENT.clientSecret}`)]) {
      expect(reported).not.toContain(secret);
    }
    expect(await change(before, DURATION, { 'fief.call': 'token', 'http.response.status_code': 200 })).toBe(1);
    expect(await change(before, DURATION, { 'fief.call': 'token', 'error.type': '400' })).toBe(1);
  });

  it('Fief down: an ERROR discovery span, an unavailable verification, a 503 refusal', async () => {
    // A fresh app: nothing fetched yet, so the token's check needs Fief.
    const cold = await createApp(adapter, {
      imports: [FiefModule.forRoot({ baseURL, ...CLIENT })],
      controllers: [TelemetryController],
    });
    try {
      const anne = await token(ANNE);
      dev.setFault('discovery', 'down');
      const before = await otel.points();
      expect((await get('/t/plain', anne, cold.getHttpServer())).status).toBe(503);

      const [discovery, ...more] = otel.spans('fief.discovery');
      expect(more).toEqual([]);
      expect(discovery.status.code).toBe(SpanStatusCode.ERROR);
      expect(discovery.status.message).toMatch(/unreachable/);
      expect(discovery.attributes['error.type']).toBe('FiefUnavailableError');
      expect(discovery.attributes['http.response.status_code']).toBeUndefined();
      expect(await change(before, VERIFICATIONS, { 'fief.outcome': 'unavailable' })).toBe(1);
      expect(await change(before, REFUSALS, { 'http.response.status_code': 503 })).toBe(1);
      expect(await change(before, DURATION, { 'fief.call': 'discovery', 'error.type': 'FiefUnavailableError' })).toBe(1);
    } finally {
      await cold.close();
    }
  });

  it('userinfo answering 500: an ERROR span with the status, and a 503', async () => {
    const anne = await token(ANNE);
    await get('/t/plain', anne);
    otel.spanExporter.reset();
    dev.setFault('userinfo', '500');
    const before = await otel.points();
    expect((await get('/t/me', anne)).status).toBe(503);
    const [userinfo] = otel.spans('fief.userinfo');
    expect(userinfo.status.code).toBe(SpanStatusCode.ERROR);
    expect(userinfo.attributes).toMatchObject({ 'http.response.status_code': 500, 'error.type': '500' });
    expect(await change(before, REFUSALS, { 'http.response.status_code': 503 })).toBe(1);
  });

  it('a cache hit does no telemetry work: no metrics or tracing API call, only the hit count', async () => {
    const anne = await token(ANNE);
    const calls = { meter: 0, tracer: 0 };
    const { getMeterProvider } = metrics;
    const { getTracer } = trace;
    metrics.getMeterProvider = function (this: typeof metrics) {
      calls.meter++;
      return getMeterProvider.call(this);
    };
    trace.getTracer = function (this: typeof trace, ...args: Parameters<typeof getTracer>) {
      calls.tracer++;
      return getTracer.apply(this, args);
    };
    try {
      const before = await otel.points();
      // The miss reaches the API (this proves the watch sees the module's calls)…
      expect((await get('/t/plain', anne)).status).toBe(200);
      expect(calls.meter).toBeGreaterThan(0);
      calls.meter = 0;
      calls.tracer = 0;
      // …the hits do not.
      for (let i = 0; i < 20; i++) expect((await get('/t/plain', anne)).status).toBe(200);
      expect(calls).toEqual({ meter: 0, tracer: 0 });
      metrics.getMeterProvider = getMeterProvider;
      expect(await change(before, LOOKUPS, { 'fief.cache': 'verified_token', 'fief.cache.result': 'hit' })).toBe(20);
    } finally {
      metrics.getMeterProvider = getMeterProvider;
      trace.getTracer = getTracer;
    }
  });
});
