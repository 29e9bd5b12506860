/**
 * The e2e helpers users get from `nestjs-fief/testing`, used as a user would: the sample app built
 * against a dev server, logged-in agents (bearer and browser session), the app-login helper on a
 * server that is not listening (as supertest users have it), and the errors when a step fails.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { AssertionError } from 'node:assert';
import { FiefModule, Public } from '../../lib/index.js';
import { createFiefTestingApp, FiefDevServer, FiefTestAgent, finishAppLogin, type FiefTestingApp } from '../../lib/testing/index.js';
import { createAppModule } from '../../sample/app.module.js';

const ANNE = 'anne@bretagne.duchy';
const GUEST = 'guest@example.com';
const COOKIE_SECRET = 'a-test-cookie-secret-of-at-least-32-bytes!';
const sample = ({ baseURL, clientId, clientSecret }: { baseURL: string; clientId: string; clientSecret: string }) => [
  createAppModule({ FIEF_BASE_URL: baseURL, FIEF_CLIENT_ID: clientId, FIEF_CLIENT_SECRET: clientSecret, COOKIE_SECRET }),
];

describe.each(['express', 'fastify'] as const)('createFiefTestingApp on %s', (adapter) => {
  let t: FiefTestingApp;

  beforeAll(async () => {
    t = await createFiefTestingApp({ imports: sample, adapter });
  });
  afterAll(() => t?.close());

  it('gives bearer agents that carry each user exactly as Fief would', async () => {
    const anne = await t.loginAs(ANNE);
    const guest = await t.loginAs(GUEST);
    await t.agent().get('/castles').expect(401);
    await guest.get('/castles').expect(200);
    await guest.post('/castles').send({ name: 'Guest keep' }).expect(403);
    const built = await anne.post('/castles').send({ name: 'Château de Nantes' }).expect(201);
    expect(built.body).toEqual({ name: 'Château de Nantes', createdBy: t.fief.findUser(ANNE)!.id });
    const me = await anne.get('/me').expect(200);
    expect(me.body).toMatchObject({ email: ANNE });
    // Token options pass through: a token without the permission is refused.
    await (await t.loginAs(ANNE, { permissions: [] })).get('/castles').expect(403);
  });

  it('gives a browser-session agent through the app own login flow', async () => {
    const anne = await t.loginAs(ANNE, { session: true });
    expect(anne.token).toBeUndefined();
    expect([...anne.cookies.keys()]).toContain('fief_session');
    await anne.get('/castles').expect(200);
    expect((await anne.get('/me').expect(200)).body).toMatchObject({ email: ANNE });
    // The session is what grants access: without its cookie the same agent is anonymous.
    anne.cookies.delete('fief_session');
    await anne.get('/castles').expect(401);
  });

  it('refuses a user the dev server does not have', async () => {
    await expect(t.loginAs('nobody@example.com')).rejects.toThrow(/no user nobody@example.com/);
    await expect(t.loginAs('nobody@example.com', { session: true })).rejects.toThrow(/no user nobody@example.com/);
  });
});

@Controller('env')
class EnvController {
  @Get()
  @Public()
  read() {
    return { baseURL: process.env.FIEF_BASE_URL };
  }

  @Get('guarded')
  guarded() {
    return { ok: true };
  }
}

/** An app configured from the environment, as many are. */
@Module({
  imports: [
    FiefModule.forRootAsync({
      globalGuard: true,
      useFactory: () => ({ baseURL: process.env.FIEF_BASE_URL!, clientId: process.env.FIEF_CLIENT_ID!, clientSecret: process.env.FIEF_CLIENT_SECRET! }),
    }),
  ],
  controllers: [EnvController],
})
class EnvAppModule {}

describe('createFiefTestingApp options', () => {
  it('configures an app from process.env, restores it on close, and keeps a dev server it was given', async () => {
    process.env.FIEF_BASE_URL = 'https://untouched.example.com';
    delete process.env.FIEF_CLIENT_ID;
    const fief = new FiefDevServer({ tenants: { acme: {} } });
    try {
      const t = await createFiefTestingApp({ imports: [EnvAppModule], devServer: fief, tenant: 'acme' });
      expect((await t.agent().get('/env').expect(200)).body).toEqual({ baseURL: fief.tenant('acme').baseURL });
      await (await t.loginAs(ANNE)).get('/env/guarded').expect(200);
      // The agent is acme's: a token of the default tenant of the same server gets no 200.
      const other = await new FiefTestAgent(t.url, { token: await fief.issueAccessToken({ user: ANNE }) }).get('/env/guarded');
      expect(other.status).not.toBe(200);
      await t.close();
      expect(process.env.FIEF_BASE_URL).toBe('https://untouched.example.com');
      expect(process.env.FIEF_CLIENT_ID).toBeUndefined();
      expect((await fetch(`${fief.baseURL}/.well-known/jwks.json`)).status).toBe(200);
    } finally {
      delete process.env.FIEF_BASE_URL;
      await fief.stop();
    }
  });

  it('listens an app built by createApp, and stops the dev server it created', async () => {
    let base = '';
    const t = await createFiefTestingApp({
      createApp: async (settings) => {
        base = settings.baseURL;
        const moduleRef = await Test.createTestingModule({ imports: sample(settings) }).compile();
        return moduleRef.createNestApplication({ logger: false });
      },
    });
    await (await t.loginAs(GUEST)).get('/castles').expect(200);
    await t.close();
    await expect(fetch(`${base}/.well-known/jwks.json`)).rejects.toThrow();
  });

  it('refuses options that give no app, or two', async () => {
    await expect(createFiefTestingApp({})).rejects.toThrow(/either imports or createApp/);
  });

  it('stops the dev server and restores the environment when the app fails to start', async () => {
    delete process.env.FIEF_BASE_URL;
    @Module({ imports: [FiefModule.forRootAsync({ useFactory: () => ({ baseURL: 'not a url', clientId: 'x' }) })] })
    class BrokenModule {}
    await expect(createFiefTestingApp({ imports: [BrokenModule], nestOptions: { logger: false } })).rejects.toThrow();
    expect(process.env.FIEF_BASE_URL).toBeUndefined();
  });
});

describe('FiefTestAgent', () => {
  it('rejects with an AssertionError that shows the answer', async () => {
    const t = await createFiefTestingApp({ imports: sample });
    try {
      const failure = await t.agent().get('/castles').expect(200).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(AssertionError);
      expect(String((failure as Error).message)).toMatch(/expected 200; GET \/castles answered 401: .*Unauthorized/);
      await expect(t.agent().get('/health/live').expect(200, { status: 'down' })).rejects.toThrow(/unexpected body/);
      await t.agent().get('/health/live').expect(200, { status: 'ok' });
      const answered = await t.agent().get('/health/live');
      expect(answered.status).toBe(200);
    } finally {
      await t.close();
    }
  });
});

describe('finishAppLogin', () => {
  const dev = new FiefDevServer();
  let app: Awaited<ReturnType<typeof build>>;
  const build = async (baseURL: string) => {
    const moduleRef = await Test.createTestingModule({
      imports: sample({ baseURL, clientId: 'fief-dev-client', clientSecret: 'fief-dev-secret' }),
    }).compile();
    const nest = moduleRef.createNestApplication({ logger: false });
    await nest.init();
    return nest;
  };

  beforeAll(async () => {
    app = await build(await dev.start());
  });
  afterAll(async () => {
    await app?.close();
    await dev.stop();
  });

  it("finishes the app's own login on a server that is not listening, and leaves it so", async () => {
    const login = await finishAppLogin(app, dev, { email: GUEST, returnTo: '/castles' });
    expect(login.location).toBe('/castles');
    expect(login.cookies.fief_session).toBe(login.sessionCookie);
    expect(login.cookieHeader).toContain(`fief_session=${login.sessionCookie}`);
    expect((app.getHttpServer() as { listening: boolean }).listening).toBe(false);
    const { url, close } = await listen(app);
    try {
      const castles = await fetch(`${url}/castles`, { headers: { cookie: login.cookieHeader } });
      expect(castles.status).toBe(200);
    } finally {
      await close();
    }
  });

  it('says which step failed', async () => {
    await expect(finishAppLogin(app, dev, { email: GUEST, loginPath: '/nowhere' })).rejects.toThrow(/\/nowhere answered 404 without a redirect to Fief/);
    dev.addUser({ email: 'inactive@example.com', isActive: false });
    await expect(finishAppLogin(app, dev, { email: 'inactive@example.com' })).rejects.toThrow(/Fief refused the login of inactive@example.com: access_denied/);
    await expect(finishAppLogin(app, dev, { email: GUEST, sessionCookieName: 'other' })).rejects.toThrow(/without setting other/);
  });
});

async function listen(app: { getHttpServer(): unknown }) {
  const server = app.getHttpServer() as import('node:http').Server;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as import('node:net').AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
