/**
 * One table of credentials, run through every entry point of the authentication pipeline on both
 * adapters: FiefAuthGuard, AuthGuard('fief') and FiefTransportAuthGuard on HTTP must give the
 * same verdict (status, challenge, body) for each case.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, UseGuards, type INestApplication, type Type } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import request from 'supertest';
import { AccessTokenInfo, CurrentUser, FiefAuthGuard, FiefModule, Permissions, Scopes, type FiefAccessTokenInfo, type FiefUserInfo } from '../../lib/index.js';
import { FiefTransportAuthGuard } from '../../lib/transports/index.js';
import { FiefDevServer } from '../../lib/testing/index.js';
import { cookieHeader, logIn, type Cookies } from '../login/login-test-helpers.js';
import { ADAPTERS, ANNE, createApp, GUEST, tamper } from './fixtures.js';

const SECRET = 'verdicts-cookie-secret-verdicts-cookie-secret';
const REDIRECT_URI = 'http://localhost/auth/callback';
const CLIENT = { clientId: 'fief-dev-client', clientSecret: 'fief-dev-secret' };

function routes(prefix: string, guard: Type<unknown> | ReturnType<typeof AuthGuard>): Type<unknown> {
  @Controller(prefix)
  @UseGuards(guard)
  class Routes {
    static calls = 0;

    @Get('plain')
    plain(@AccessTokenInfo() info: FiefAccessTokenInfo) {
      Routes.calls++;
      return { id: info.id };
    }

    @Get('scope')
    @Scopes('castles')
    scope() {
      Routes.calls++;
      return { ok: true };
    }

    @Get('create')
    @Permissions('castles:create')
    create() {
      Routes.calls++;
      return { ok: true };
    }

    @Get('me')
    me(@CurrentUser() user: FiefUserInfo) {
      Routes.calls++;
      return { email: user.email };
    }
  }
  return Routes;
}

const ENTRY_POINTS = {
  FiefAuthGuard: routes('guard', FiefAuthGuard),
  "AuthGuard('fief')": routes('passport', AuthGuard('fief')),
  FiefTransportAuthGuard: routes('transport', FiefTransportAuthGuard),
} as const;
const PREFIX = { FiefAuthGuard: 'guard', "AuthGuard('fief')": 'passport', FiefTransportAuthGuard: 'transport' } as const;

interface Case {
  route: 'plain' | 'scope' | 'create' | 'me';
  authorization?: string;
  cookie?: 'anne' | 'guest';
  /** Runs before the request, undone after it. */
  fault?: 'userinfo-down';
  status: number;
  error?: string;
}

describe.each(ADAPTERS)('the same verdict on every entry point on %s', (adapter) => {
  let dev: FiefDevServer;
  let app: INestApplication;
  let server: Parameters<typeof request>[0];
  const tokens: Record<string, string> = {};
  const sessions: Record<'anne' | 'guest', Cookies> = { anne: {}, guest: {} };

  beforeAll(async () => {
    dev = new FiefDevServer({ clients: [{ ...CLIENT, redirectUris: [REDIRECT_URI] }] });
    await dev.start();
    app = await createApp(adapter, {
      imports: [FiefModule.forRoot({ baseURL: dev.baseURL, ...CLIENT, login: { redirectUri: REDIRECT_URI, cookieSecret: SECRET, secureCookies: false } })],
      controllers: Object.values(ENTRY_POINTS),
    });
    server = app.getHttpServer();
    const now = Math.floor(Date.now() / 1000);
    tokens.anne = await dev.issueAccessToken({ user: ANNE });
    tokens.guest = await dev.issueAccessToken({ user: GUEST });
    tokens.expired = await dev.issueAccessToken({ user: ANNE, claims: { iat: now - 7200, auth_time: now - 7200, exp: now - 3600 } });
    sessions.anne = (await logIn(server, dev, { email: ANNE })).cookies;
    sessions.guest = (await logIn(server, dev, { email: GUEST })).cookies;
  });

  afterAll(async () => {
    await app?.close();
    await dev?.stop();
  });

  const table: [string, () => Case][] = [
    ['no credential', () => ({ route: 'plain', status: 401 })],
    ['a malformed header (Bearer<TAB>token)', () => ({ route: 'plain', authorization: `Bearer\t${tokens.anne}`, status: 401, error: 'invalid_request' })],
    ['a malformed header (two tokens)', () => ({ route: 'plain', authorization: 'Bearer a b', status: 401, error: 'invalid_request' })],
    ['an invalid token', () => ({ route: 'plain', authorization: `Bearer ${tamper(tokens.anne)}`, status: 401, error: 'invalid_token' })],
    ['an expired token', () => ({ route: 'plain', authorization: `Bearer ${tokens.expired}`, status: 401, error: 'invalid_token' })],
    ['a token without the scope', () => ({ route: 'scope', authorization: `Bearer ${tokens.anne}`, status: 403, error: 'insufficient_scope' })],
    ['a token without the permission', () => ({ route: 'create', authorization: `Bearer ${tokens.guest}`, status: 403, error: 'insufficient_scope' })],
    ['a valid token', () => ({ route: 'create', authorization: `Bearer ${tokens.anne}`, status: 200 })],
    ['Fief down for the user', () => ({ route: 'me', authorization: `Bearer ${tokens.guest}`, fault: 'userinfo-down', status: 503 })],
    ['a session cookie', () => ({ route: 'me', cookie: 'anne', status: 200 })],
    ['a session cookie without the permission', () => ({ route: 'create', cookie: 'guest', status: 403, error: 'insufficient_scope' })],
    ['a header and a cookie of the same user', () => ({ route: 'plain', authorization: `Bearer ${tokens.anne}`, cookie: 'anne', status: 200 })],
    ['a header and a cookie of different users', () => ({ route: 'plain', authorization: `Bearer ${tokens.anne}`, cookie: 'guest', status: 400, error: 'invalid_request' })],
  ];

  it.each(table)('%s', async (_name, build) => {
    const testCase = build();
    const answers = [];
    for (const [entry, controller] of Object.entries(ENTRY_POINTS)) {
      const before = (controller as unknown as { calls: number }).calls;
      if (testCase.fault === 'userinfo-down') dev.setFault('userinfo', 'down');
      let call = request(server).get(`/${PREFIX[entry as keyof typeof PREFIX]}/${testCase.route}`);
      if (testCase.authorization !== undefined) call = call.set('Authorization', testCase.authorization);
      if (testCase.cookie) call = call.set('Cookie', cookieHeader(sessions[testCase.cookie]));
      const res = await call;
      dev.setFault('all', null);
      const ran = (controller as unknown as { calls: number }).calls > before;
      answers.push({ entry, status: res.status, ran, challenge: res.headers['www-authenticate'] ?? null, retryAfter: res.headers['retry-after'] ?? null, body: res.body });
    }
    for (const answer of answers) {
      expect({ entry: answer.entry, status: answer.status, ran: answer.ran }).toEqual({ entry: answer.entry, status: testCase.status, ran: testCase.status === 200 });
      if (testCase.error) expect(answer.challenge).toContain(`error="${testCase.error}"`);
      if (testCase.status === 401 && !testCase.error) expect(answer.challenge).toBe('Bearer realm="fief"');
      if (testCase.status === 503) expect(answer.retryAfter).toBe('10');
    }
    // Same headers and body everywhere, not only the same status.
    const [first, ...others] = answers;
    for (const other of others) {
      expect({ challenge: other.challenge, retryAfter: other.retryAfter, body: other.body }).toEqual({
        challenge: first.challenge,
        retryAfter: first.retryAfter,
        body: first.body,
      });
    }
  });
});
