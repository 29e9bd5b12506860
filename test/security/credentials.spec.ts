/**
 * Issue 10 §3: a credential that is sent is always checked. A malformed Authorization header is
 * never "anonymous" on an @OptionalAuth() route; a bearer token and a session cookie of different
 * users are refused; AuthGuard('fief') reads the session cookie as FiefAuthGuard does.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, UseGuards, type INestApplication } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import request from 'supertest';
import { AccessToken, AccessTokenInfo, FiefAuthGuard, FiefModule, OptionalAuth, type FiefAccessTokenInfo } from '../../lib/index.js';
import { FiefDevServer } from '../../lib/testing/index.js';
import { ADAPTERS, ANNE, createApp, GUEST } from '../e2e/fixtures.js';
import { cookieHeader, logIn, type Cookies } from '../login/login-test-helpers.js';

const SECRET = 'credentials-cookie-secret-credentials-cookie';
const REDIRECT_URI = 'http://localhost/auth/callback';
const CLIENT = { clientId: 'fief-dev-client', clientSecret: 'fief-dev-secret' };
const ran: string[] = [];

@Controller('optional')
@UseGuards(FiefAuthGuard)
class OptionalController {
  @Get()
  @OptionalAuth()
  who(@AccessTokenInfo() info?: FiefAccessTokenInfo) {
    ran.push('optional');
    return { id: info?.id ?? null };
  }
}

@Controller('guard')
@UseGuards(FiefAuthGuard)
class GuardController {
  @Get()
  who(@AccessTokenInfo() info: FiefAccessTokenInfo, @AccessToken() token: string) {
    ran.push('guard');
    return { id: info.id, token };
  }
}

@Controller('passport')
@UseGuards(AuthGuard('fief'))
class PassportController {
  @Get()
  who(@AccessTokenInfo() info: FiefAccessTokenInfo, @AccessToken() token: string) {
    ran.push('passport');
    return { id: info.id, token };
  }
}

describe.each(ADAPTERS)('a credential that is sent is always checked, on %s', (adapter) => {
  let dev: FiefDevServer;
  let app: INestApplication;
  let server: Parameters<typeof request>[0];
  let anne: string;
  let guestSession: Cookies;
  let anneSession: Cookies;

  beforeAll(async () => {
    dev = new FiefDevServer({ clients: [{ ...CLIENT, redirectUris: [REDIRECT_URI] }] });
    await dev.start();
    app = await createApp(adapter, {
      imports: [FiefModule.forRoot({ baseURL: dev.baseURL, ...CLIENT, login: { redirectUri: REDIRECT_URI, cookieSecret: SECRET, secureCookies: false } })],
      controllers: [OptionalController, GuardController, PassportController],
    });
    server = app.getHttpServer();
    anne = await dev.issueAccessToken({ user: ANNE, claims: { jti: 'credentials-anne' } });
    guestSession = (await logIn(server, dev, { email: GUEST })).cookies;
    anneSession = (await logIn(server, dev, { email: ANNE })).cookies;
  });

  afterAll(async () => {
    await app?.close();
    await dev?.stop();
  });

  describe('@OptionalAuth() with a malformed Authorization header: invalid_request, never anonymous', () => {
    it.each([
      ['Bearer<TAB>token', (t: string) => `Bearer\t${t}`],
      ['Bearer,token', (t: string) => `Bearer,${t}`],
      ['Bearer"token"', (t: string) => `Bearer"${t}"`],
      ['bearer;token', (t: string) => `bearer;${t}`],
      ['Bearer with nothing after it', () => 'Bearer'],
      ['Bearer and two spaces only', () => 'Bearer  '],
      ['two tokens', (t: string) => `Bearer ${t} ${t}`],
    ])('%s', async (_name, header) => {
      ran.length = 0;
      const res = await request(server).get('/optional').set('Authorization', header(anne));
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toContain('error="invalid_request"');
      expect(ran).toEqual([]);
    });

    it('still lets a caller without any credential (or with another scheme) through as anonymous', async () => {
      expect((await request(server).get('/optional')).body).toEqual({ id: null });
      expect((await request(server).get('/optional').set('Authorization', 'Basic dXNlcjpwYXNz')).body).toEqual({ id: null });
    });
  });

  describe.each(['guard', 'passport', 'optional'])('a bearer token and a session cookie on /%s', (route) => {
    it('of different users: 400 invalid_request, the handler never runs', async () => {
      ran.length = 0;
      const res = await request(server).get(`/${route}`).set('Authorization', `Bearer ${anne}`).set('Cookie', cookieHeader(guestSession));
      expect(res.status).toBe(400);
      expect(res.headers['www-authenticate']).toContain('error="invalid_request"');
      expect(res.body.message).toContain('different users');
      expect(ran).toEqual([]);
    });

    it('of the same user: the header wins', async () => {
      const res = await request(server).get(`/${route}`).set('Authorization', `Bearer ${anne}`).set('Cookie', cookieHeader(anneSession));
      expect(res.status).toBe(200);
      expect(res.body.id).toBe(dev.findUser(ANNE)!.id);
      if (route !== 'optional') expect(res.body.token).toBe(anne);
    });

    it('a tampered cookie next to a valid header is no credential: the header is used', async () => {
      const res = await request(server).get(`/${route}`).set('Authorization', `Bearer ${anne}`).set('Cookie', 'fief_session=garbage');
      expect(res.status).toBe(200);
    });
  });

  it("AuthGuard('fief') accepts the session cookie as FiefAuthGuard does", async () => {
    const viaGuard = await request(server).get('/guard').set('Cookie', cookieHeader(guestSession));
    const viaPassport = await request(server).get('/passport').set('Cookie', cookieHeader(guestSession));
    expect([viaGuard.status, viaPassport.status]).toEqual([200, 200]);
    expect(viaPassport.body).toEqual(viaGuard.body);
    expect(viaPassport.body.id).toBe(dev.findUser(GUEST)!.id);
  });
});
