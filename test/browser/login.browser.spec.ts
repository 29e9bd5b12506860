import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  Controller,
  ForbiddenException,
  Get,
  Header,
  Inject,
  Injectable,
  Req,
  Res,
  SetMetadata,
  UnauthorizedException,
  UseGuards,
  type CanActivate,
  type ExecutionContext,
  type INestApplication,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import type { BrowserContext, Page } from 'playwright-core';
import { launchChromium, type TestBrowser } from './chromium.js';
import { FiefClient } from '../../lib/client/fief-client.js';
import { FiefLoginModule } from '../../lib/login/fief-login.module.js';
import type { CookieRequest, CookieResponse } from '../../lib/login/http-cookies.js';
import { FIEF_LOGIN_CLIENT } from '../../lib/login/login.constants.js';
import { LoginRedirect } from '../../lib/login/login-redirect.decorator.js';
import { FiefSessionService } from '../../lib/login/session.service.js';
import { FiefDevServer } from '../../lib/testing/fief-dev-server.js';

const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'browser');
const REQUIRED_PERMISSION = 'FIEF:TEST_PERMISSION';

/** Page-route guard of this test app: the session, then a permission, through the login flow's hooks. */
@Injectable()
class PageGuard implements CanActivate {
  constructor(
    private readonly sessions: FiefSessionService,
    @Inject(FIEF_LOGIN_CLIENT) private readonly fief: FiefClient,
    private readonly reflector: Reflector,
  ) {}
  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const session = await this.sessions.authenticate(http.getRequest(), http.getResponse());
    if (!session) throw new UnauthorizedException('Log in first.');
    const permission = this.reflector.get<string | undefined>(REQUIRED_PERMISSION, context.getHandler());
    const info = await this.fief.validateAccessToken(session.accessToken);
    if (permission && !info.permissions.includes(permission)) throw new ForbiddenException(`You need ${permission}.`);
    return true;
  }
}

const html = (title: string, body: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1>${body}</body></html>`;

@Controller()
class PagesController {
  constructor(private readonly sessions: FiefSessionService, @Inject(FIEF_LOGIN_CLIENT) private readonly fief: FiefClient) {}

  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  async home(@Req() req: CookieRequest, @Res({ passthrough: true }) res: CookieResponse) {
    const session = await this.sessions.authenticate(req, res);
    if (!session) return html('Home', '<a href="/auth/login">Log in</a>');
    const user = await this.fief.userinfo(session.accessToken);
    return html('Home', `<p id="email">${user.email}</p><a href="/castles">Castles</a> <a href="/auth/logout">Log out</a>`);
  }

  @Get('castles')
  @UseGuards(PageGuard)
  @LoginRedirect()
  @Header('Content-Type', 'text/html; charset=utf-8')
  castles() {
    return html('Castles', '<ul><li>Château des ducs de Bretagne</li></ul><a href="/castles/demolish">Demolish one</a>');
  }

  @Get('castles/demolish')
  @UseGuards(PageGuard)
  @LoginRedirect()
  @SetMetadata(REQUIRED_PERMISSION, 'castles:delete')
  demolish() {
    return html('Demolished', '');
  }
}

describe('browser login flow in headless Chromium', () => {
  let dev: FiefDevServer;
  let http: Server;
  let app: INestApplication;
  let appURL: string;
  let browser: TestBrowser | undefined;
  let context: BrowserContext;
  let page: Page;

  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    dev = new FiefDevServer();
    await dev.start();

    // Listen first: the redirect URI is configuration and must name the real port.
    const adapter = new ExpressAdapter();
    http = createServer(adapter.getInstance());
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    appURL = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;

    const client = new FiefClient({ baseURL: dev.baseURL, clientId: 'fief-dev-client', clientSecret: 'fief-dev-secret' });
    const moduleRef = await Test.createTestingModule({
      imports: [
        FiefLoginModule.forRoot({
          client,
          redirectUri: `${appURL}/auth/callback`,
          cookieSecret: 'browser-test-secret-browser-test-secret',
          secureCookies: false,
        }),
      ],
      controllers: [PagesController],
      providers: [PageGuard],
    }).compile();
    app = moduleRef.createNestApplication(adapter, { logger: false });
    await app.init();

    browser = await launchChromium();
    ({ context, page } = browser);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await new Promise((resolve) => http?.close(resolve));
    await dev?.stop();
  });

  it('logs in through Fief, reaches a protected page, meets a 403, and logs out', async () => {
    await page.goto(`${appURL}/`);
    await expect(page.locator('a', { hasText: 'Log in' }).count()).resolves.toBe(1);
    await shot('01-home-logged-out');

    // A protected page sends the logged-out browser to Fief, and back to it after login.
    await page.goto(`${appURL}/castles`);
    expect(page.url()).toContain(`${dev.baseURL}/`);
    await shot('02-fief-login-page');
    await page.getByRole('button', { name: 'Sign in as anne@bretagne.duchy' }).click();
    await page.waitForURL(`${appURL}/castles`);
    await expect(page.locator('h1').textContent()).resolves.toBe('Castles');
    await shot('03-protected-page');

    const cookies = await context.cookies(appURL);
    const session = cookies.find((c) => c.name === 'fief_session');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' });
    expect(cookies.filter((c) => c.name.startsWith('fief_login_'))).toEqual([]);
    await expect(page.evaluate(() => document.cookie)).resolves.not.toContain('fief_session');

    await page.goto(`${appURL}/`);
    await expect(page.locator('#email').textContent()).resolves.toBe('anne@bretagne.duchy');

    const forbidden = await page.goto(`${appURL}/castles/demolish`);
    expect(forbidden?.status()).toBe(403);
    await expect(page.content()).resolves.toContain('You need castles:delete.');
    await shot('04-forbidden');

    await page.goto(`${appURL}/`);
    await page.getByRole('link', { name: 'Log out' }).click();
    await page.waitForURL(`${appURL}/`);
    await expect(page.locator('a', { hasText: 'Log in' }).count()).resolves.toBe(1);
    expect((await context.cookies(appURL)).find((c) => c.name === 'fief_session')).toBeUndefined();
    await shot('05-logged-out');

    // Logged out for real: the protected page sends the browser to Fief again.
    await page.goto(`${appURL}/castles`);
    expect(page.url()).toContain(`${dev.baseURL}/`);
  }, 60_000);
});
