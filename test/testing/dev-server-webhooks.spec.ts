/**
 * The dev server's webhooks, as Fief sends them: a real HTTP receiver checks every delivery's bytes,
 * headers and signature (recomputed here with node:crypto, not with the dev server's own code).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt } from 'jose';
import { FiefDevServer } from '../../lib/testing/index.js';

const SECRET = 'whsec-test';

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A webhook receiver: records each request; `answer` decides each reply (200 unless told). */
class Receiver {
  readonly received: Received[] = [];
  answer: (request: Received, index: number) => number | 'hang' | { redirect: string } = () => 200;
  private server?: Server;
  url = '';

  async start() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const request = { path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
        this.received.push(request);
        const answer = this.answer(request, this.received.length - 1);
        if (answer === 'hang') return;
        if (typeof answer === 'object') return void res.writeHead(302, { location: answer.redirect }).end();
        res.writeHead(answer).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  stop() {
    this.server?.closeAllConnections();
    return new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  events(path = '/hook') {
    return this.received.filter((r) => r.path === path).map((r) => JSON.parse(r.body) as { type: string; data: Record<string, any> });
  }
}

/** What a receiver must check, written from Fief's delivery.py, independently of the dev server. */
function expectSignedByFief(request: Received, secret = SECRET) {
  const timestamp = request.headers['x-fief-webhook-timestamp'] as string;
  expect(timestamp).toMatch(/^\d{10}$/);
  expect(Math.abs(Number(timestamp) - Date.now() / 1000)).toBeLessThan(30);
  const expected = createHmac('sha256', secret).update(`${timestamp}.${request.body}`).digest('hex');
  expect(request.headers['x-fief-webhook-signature']).toBe(expected);
  expect(request.headers['content-type']).toBe('application/json');
  expect(request.headers['user-agent']).toMatch(/^fief-server-webhooks\//);
}

describe('FiefDevServer webhooks', () => {
  const receiver = new Receiver();
  let dev: FiefDevServer;

  beforeAll(() => receiver.start());
  afterAll(() => receiver.stop());
  afterEach(async () => {
    await dev?.stop();
    receiver.received.length = 0;
    receiver.answer = () => 200;
  });

  const start = async (options: ConstructorParameters<typeof FiefDevServer>[0] = {}) => {
    dev = new FiefDevServer({ webhooks: [{ url: `${receiver.url}/hook`, secret: SECRET }], ...options });
    await dev.start();
    return dev;
  };

  it('sends a signed user.created with the user as Fief reads it, and nothing for the initial users', async () => {
    await start();
    const added = dev.addUser({ email: 'new@example.com', fields: { first_name: 'New' }, permissions: ['castles:read'] });
    const [delivery] = await dev.flushWebhooks();
    expect(receiver.received).toHaveLength(1);
    expectSignedByFief(receiver.received[0]);
    expect(JSON.parse(receiver.received[0].body)).toEqual({
      type: 'user.created',
      data: {
        id: added.id,
        created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        updated_at: expect.any(String),
        email: 'new@example.com',
        email_verified: true,
        is_active: true,
        tenant_id: dev.tenantId,
        tenant: { id: dev.tenantId, name: 'Default', slug: 'default', default: true, created_at: expect.any(String), updated_at: expect.any(String) },
        fields: { first_name: 'New' },
      },
    });
    expect(delivery).toMatchObject({ url: `${receiver.url}/hook`, type: 'user.created', ok: true, settled: true, body: receiver.received[0].body });
    expect(delivery.attempts).toEqual([{ timestamp: Number(receiver.received[0].headers['x-fief-webhook-timestamp']), signature: expect.any(String), status: 200 }]);
    expect(delivery.headers['x-fief-webhook-signature']).toBe(receiver.received[0].headers['x-fief-webhook-signature']);
  });

  it('sends every user change in order: updated, permission granted and revoked, deleted', async () => {
    await start();
    const anne = dev.findUser('anne@bretagne.duchy')!;
    dev.updateUser(anne.email, { fields: { last_name: 'De Bretagne et de France' }, emailVerified: false });
    expect(dev.grantPermission(anne.id!, 'castles:demolish')).toBe(true);
    expect(dev.grantPermission(anne.id!, 'castles:demolish')).toBe(false);
    expect(dev.revokePermission(anne.id!, 'castles:read')).toBe(true);
    expect(dev.revokePermission(anne.id!, 'castles:read')).toBe(false);
    const token = await dev.issueAccessToken({ user: anne.id });
    expect(decodeJwt(token).permissions).toEqual(['castles:create', 'castles:demolish']);
    dev.deleteUser(anne.email);
    await dev.flushWebhooks();
    receiver.received.forEach((request) => expectSignedByFief(request));
    const events = receiver.events();
    expect(events.map((event) => event.type)).toEqual(['user.updated', 'user_permission.created', 'user_permission.deleted', 'user.deleted']);
    expect(events[0].data).toMatchObject({ id: anne.id, email_verified: false, fields: { first_name: 'Anne', last_name: 'De Bretagne et de France' } });
    expect(events[1].data).toMatchObject({ user_id: anne.id, from_role_id: null, permission: { codename: 'castles:demolish' } });
    expect(events[1].data.permission_id).toBe(events[1].data.permission.id);
    expect(events[2].data).toMatchObject({ user_id: anne.id, permission: { codename: 'castles:read' } });
    expect(events[3].data).toMatchObject({ id: anne.id, email: 'anne@bretagne.duchy' });
    // The deletion is real: the user is gone, and so is the user API for their tokens.
    expect(dev.findUser(anne.id!)).toBeUndefined();
    expect((await fetch(`${dev.baseURL}/api/userinfo`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
    expect(() => dev.updateUser(anne.id!, { isActive: false })).toThrow(/no user/);
  });

  it('tells a new permission list as one user_permission event per permission, not as user.updated', async () => {
    await start();
    dev.updateUser('guest@example.com', { permissions: ['castles:create', 'castles:create'] });
    await dev.flushWebhooks();
    expect(receiver.events().map((event) => [event.type, event.data.permission?.codename])).toEqual([
      ['user_permission.deleted', 'castles:read'],
      ['user_permission.created', 'castles:create'],
    ]);
    expect(dev.findUser('guest@example.com')!.permissions).toEqual(['castles:create']);
  });

  it("sends user.updated when the user API changes the profile, the password or the verified email, not for a pending change", async () => {
    await start();
    const token = await dev.issueAccessToken({ user: 'guest@example.com', acr: '1' });
    const call = (path: string, method: string, body: unknown) =>
      fetch(`${dev.baseURL}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await call('/api/profile', 'PATCH', { fields: { first_name: 'Visitor' } })).status).toBe(200);
    expect((await call('/api/password', 'PATCH', { password: 'correct horse battery' })).status).toBe(200);
    expect((await call('/api/password', 'PATCH', { password: 'short' })).status).toBe(400);
    expect((await call('/api/email/change', 'PATCH', { email: 'visitor@example.com' })).status).toBe(202);
    await dev.flushWebhooks();
    expect(receiver.events().map((event) => event.type)).toEqual(['user.updated', 'user.updated']);
    const code = dev.getEmailVerificationCode('guest@example.com')!;
    expect((await call('/api/email/verify', 'POST', { code })).status).toBe(200);
    await dev.flushWebhooks();
    const events = receiver.events();
    expect(events).toHaveLength(3);
    expect(events[0].data.fields).toEqual({ first_name: 'Visitor' });
    expect(events[2].data).toMatchObject({ email: 'visitor@example.com', email_verified: true });
  });

  it('retries a failed delivery, signing each attempt anew, and gives up after the last attempt', async () => {
    await start({ webhookAttempts: 3 });
    receiver.answer = (_request, index) => (index === 0 ? 503 : 204);
    dev.addUser({ email: 'retry@example.com' });
    const [delivery] = await dev.flushWebhooks();
    expect(receiver.received).toHaveLength(2);
    receiver.received.forEach((request) => expectSignedByFief(request));
    expect(receiver.received[1].body).toBe(receiver.received[0].body);
    expect(delivery).toMatchObject({ ok: true, settled: true });
    expect(delivery.attempts.map((attempt) => attempt.status)).toEqual([503, 204]);

    receiver.received.length = 0;
    receiver.answer = () => 500;
    dev.addUser({ email: 'lost@example.com' });
    const [, lost] = await dev.flushWebhooks();
    expect(receiver.received).toHaveLength(3);
    expect(lost).toMatchObject({ ok: false, settled: true });
    expect(lost.attempts.map((attempt) => attempt.status)).toEqual([500, 500, 500]);
  });

  it('signs a retry with a fresh timestamp, after the configured delay', async () => {
    await start({ webhookAttempts: 2, webhookRetryDelay: 1100 });
    receiver.answer = (_request, index) => (index === 0 ? 500 : 200);
    dev.addUser({ email: 'later@example.com' });
    const [delivery] = await dev.flushWebhooks();
    const [first, second] = receiver.received;
    expectSignedByFief(first);
    expectSignedByFief(second);
    expect(Number(second.headers['x-fief-webhook-timestamp'])).toBeGreaterThan(Number(first.headers['x-fief-webhook-timestamp']));
    expect(second.headers['x-fief-webhook-signature']).not.toBe(first.headers['x-fief-webhook-signature']);
    expect(delivery.attempts.map((attempt) => attempt.status)).toEqual([500, 200]);
  });

  it.each([
    ['webhookTimeout', { webhookTimeout: 0 }],
    ['webhookAttempts', { webhookAttempts: 0 }],
    ['webhookRetryDelay', { webhookRetryDelay: -1 }],
    ['webhooks', { webhooks: [{ url: 'not a url', secret: 's' }] }],
  ])('refuses a bad %s at construction', (name, options) => {
    expect(() => new FiefDevServer(options)).toThrow(new RegExp(name === 'webhooks' ? 'webhook url' : name));
  });

  it('follows no redirect, and gives up on a receiver that does not answer within the timeout', async () => {
    await start({ webhookAttempts: 2, webhookTimeout: 300 });
    receiver.answer = (request) => (request.path === '/hook' ? { redirect: `${receiver.url}/elsewhere` } : 200);
    dev.addUser({ email: 'redirected@example.com' });
    const [redirected] = await dev.flushWebhooks();
    expect(receiver.received.map((request) => request.path)).toEqual(['/hook', '/hook']);
    expect(redirected).toMatchObject({ ok: false, attempts: [{ status: 302 }, { status: 302 }] });

    receiver.answer = () => 'hang';
    const started = Date.now();
    dev.addUser({ email: 'hanging@example.com' });
    const [, hanging] = await dev.flushWebhooks();
    expect(hanging.ok).toBe(false);
    expect(hanging.attempts.map((attempt) => attempt.error)).toEqual([expect.stringMatching(/Timeout/), expect.stringMatching(/Timeout/)]);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("sends a tenant's events to its own webhooks and to the server's, never to another tenant's", async () => {
    await start({
      tenants: { acme: { webhooks: [{ url: `${receiver.url}/acme`, secret: 'acme-secret' }] }, globex: {} },
    });
    const acme = dev.tenant('acme');
    const wile = acme.addUser({ email: 'wile@acme.test' });
    dev.tenant('globex').addUser({ email: 'hank@globex.test' });
    dev.addUser({ email: 'root@example.com' });
    await dev.flushWebhooks();
    const toAcme = receiver.received.filter((request) => request.path === '/acme');
    expect(toAcme).toHaveLength(1);
    expectSignedByFief(toAcme[0], 'acme-secret');
    expect(JSON.parse(toAcme[0].body).data).toMatchObject({ id: wile.id, tenant_id: acme.tenantId, tenant: { slug: 'acme', default: false } });
    expect(receiver.events('/hook').map((event) => event.data.email)).toEqual(['wile@acme.test', 'hank@globex.test', 'root@example.com']);
    expect(acme.webhookDeliveries.map((delivery) => delivery.url)).toEqual([`${receiver.url}/hook`, `${receiver.url}/acme`]);
    expect(dev.webhookDeliveries).toHaveLength(4);
  });

  it('adds and removes receivers at run time and sends any event type', async () => {
    dev = new FiefDevServer();
    await dev.start();
    dev.addUser({ email: 'unheard@example.com' });
    expect(await dev.flushWebhooks()).toEqual([]);
    dev.addWebhook({ url: `${receiver.url}/late`, secret: SECRET });
    dev.sendWebhook('client.updated', { id: 'c1' });
    dev.sendWebhook('brand_new.kind', { anything: [1, 2] });
    await dev.flushWebhooks();
    expect(receiver.events('/late')).toEqual([
      { type: 'client.updated', data: { id: 'c1' } },
      { type: 'brand_new.kind', data: { anything: [1, 2] } },
    ]);
    dev.removeWebhook(`${receiver.url}/late`);
    dev.addUser({ email: 'unheard-again@example.com' });
    await dev.flushWebhooks();
    expect(receiver.received).toHaveLength(2);
    expect(() => dev.addWebhook({ url: 'ftp://example.com', secret: 's' })).toThrow(/http\(s\) URL/);
  });
});
