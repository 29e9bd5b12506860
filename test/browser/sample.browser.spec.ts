import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import type { BrowserContext, Page } from 'playwright-core';
import { launchChromium, type TestBrowser } from './chromium.js';
import { FiefDevServer } from '../../lib/testing/fief-dev-server.js';
import { createAppModule } from '../../sample/app.module.js';

const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'sample');

/** What a person does with the sample in a real browser: log in, browse, meet a 403, log out. */
describe('the sample in headless Chromium', () => {
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
    const baseURL = await dev.start();
    // Listen first: the sample's redirect URI must name the real port.
    const adapter = new ExpressAdapter();
    http = createServer(adapter.getInstance());
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    appURL = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    const moduleRef = await Test.createTestingModule({
      imports: [
        createAppModule({
          FIEF_BASE_URL: baseURL,
          FIEF_CLIENT_ID: 'fief-dev-client',
          FIEF_CLIENT_SECRET: 'fief-dev-secret',
          APP_URL: appURL,
        }),
      ],
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

  it('login → protected page → a page anne may open → logout → guest gets a 403 page with a way back', async () => {
    await page.goto(appURL);
    await expect(page.locator('#login').count()).resolves.toBe(1);
    await shot('01-home-logged-out');

    await page.click('#login');
    await page.waitForURL(`${dev.baseURL}/**`);
    await shot('02-fief-login');
    await page.getByRole('button', { name: 'Sign in as anne@bretagne.duchy' }).click();
    await page.waitForURL(`${appURL}/`);
    await expect(page.locator('#email').textContent()).resolves.toBe('anne@bretagne.duchy');
    await expect(page.locator('#fields').textContent()).resolves.toContain('first_name: Anne');
    await shot('03-home-logged-in');

    const session = (await context.cookies(appURL)).find((c) => c.name === 'fief_session');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Lax' });
    await expect(page.evaluate(() => document.cookie)).resolves.not.toContain('fief_session');

    const castles = await page.goto(`${appURL}/pages/castles`);
    expect(castles?.status()).toBe(200);
    await expect(page.locator('h1').textContent()).resolves.toBe('Castles');
    await shot('04-protected-page');

    // anne has castles:create: the page that needs it opens for her.
    await page.click('text=Build a castle');
    await page.waitForURL(`${appURL}/pages/castles/build`);
    await expect(page.locator('#builder').textContent()).resolves.toBe('anne@bretagne.duchy may build castles here.');
    await shot('05-permitted-page');

    await page.goto(appURL);
    await page.click('#logout');
    await page.waitForURL(`${appURL}/`);
    await expect(page.locator('#login').count()).resolves.toBe(1);
    expect((await context.cookies(appURL)).find((c) => c.name === 'fief_session')).toBeUndefined();
    await shot('06-logged-out');

    // Logged out for real: the protected page sends the browser to Fief again, and back to it after login.
    await page.goto(`${appURL}/pages/castles`);
    await page.waitForURL(`${dev.baseURL}/**`);
    await page.getByRole('button', { name: 'Sign in as guest@example.com' }).click();
    await page.waitForURL(`${appURL}/pages/castles`);
    await expect(page.locator('h1').textContent()).resolves.toBe('Castles');

    // guest only reads castles: a 403, as a page a person can read, with a way back.
    const forbidden = await page.goto(`${appURL}/pages/castles/build`);
    expect(forbidden?.status()).toBe(403);
    expect(forbidden?.headers()['content-type']).toMatch(/^text\/html/);
    expect(forbidden?.headers()['www-authenticate']).toContain('error="insufficient_scope"');
    await expect(page.locator('h1').textContent()).resolves.toBe('You may not open this page');
    await shot('07-forbidden-page');
    await expect(page.locator('#home').getAttribute('href')).resolves.toBe('/');
    // "Log in as someone else" goes through Fief and lands back on the page, now as anne.
    await page.click('#retry');
    await page.waitForURL(`${dev.baseURL}/**`);
    await page.getByRole('button', { name: 'Sign in as anne@bretagne.duchy' }).click();
    await page.waitForURL(`${appURL}/pages/castles/build`);
    await expect(page.locator('#builder').textContent()).resolves.toBe('anne@bretagne.duchy may build castles here.');
  }, 60_000);
});
