import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { isKnownFiefWebhookEvent } from '../../lib/index.js';
import {
  ADAPTERS,
  createWebhookApp,
  delivery,
  FiefEventsController,
  fiefSignature,
  now,
  post,
  RecordingLogger,
  SECRET,
  userData,
} from './webhook-fixtures.js';

const received = () => FiefEventsController.received;

describe.each(ADAPTERS)('FiefWebhookGuard on %s, hand-built deliveries', (adapter) => {
  let app: INestApplication;

  beforeAll(async () => {
    app = await createWebhookApp(adapter, { fief: { webhooks: { secret: [SECRET, 'whsec-next-rotation'], tolerance: 300, maxBodyBytes: 4096 } } });
  });
  afterAll(() => app?.close());
  beforeEach(() => {
    FiefEventsController.received = [];
  });

  it('a genuine delivery runs the handler with the event, its user data typed', async () => {
    const event = { type: 'user.created', data: userData() };
    const response = await post(app, delivery(event));
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ received: 'user.created' });
    expect(received()).toEqual([event]);
    const [got] = received();
    expect(isKnownFiefWebhookEvent(got)).toBe(true);
    if (isKnownFiefWebhookEvent(got) && got.type === 'user.created') expect(got.data.email).toBe('anne@bretagne.duchy');
  });

  it('verifies the exact bytes: odd spacing, key order and \\u escapes that a re-serialization would change', async () => {
    const body = '{ "data" :{"fields":{"first_name":"Ann\\u00e9"}, "id":"u-1","email":"anne@bretagne.duchy","tenant_id":"t","created_at":"x","updated_at":"x"},\n  "type":"user.updated" }';
    const response = await post(app, delivery(body));
    expect(response.status).toBe(200);
    expect(received()).toHaveLength(1);
    expect((received()[0].data as { fields: { first_name: string } }).fields.first_name).toBe('Anné');
  });

  it('accepts every secret of a rotation, and no other', async () => {
    expect((await post(app, delivery({ type: 'user.updated', data: userData() }, { secret: 'whsec-next-rotation' }))).status).toBe(200);
    const forged = await post(app, delivery({ type: 'user.updated', data: userData() }, { secret: 'whsec-guessed' }));
    expect(forged.status).toBe(401);
    expect(received()).toHaveLength(1);
  });

  it('refuses a missing or malformed signature or timestamp with 401, handler not run', async () => {
    const good = delivery({ type: 'user.deleted', data: userData() });
    const cases = [
      { ...good, signature: undefined },
      { ...good, timestamp: undefined },
      { ...good, signature: '' },
      { ...good, signature: good.signature.slice(0, 63) },
      { ...good, signature: `${good.signature}00` },
      { ...good, signature: 'z'.repeat(64) },
      { ...good, signature: `sha256=${good.signature}` },
      { ...good, timestamp: `${good.timestamp}.0` },
      { ...good, timestamp: '-1' },
    ];
    for (const sent of cases) {
      const response = await post(app, sent);
      expect({ sent: [sent.timestamp, sent.signature], status: response.status }).toEqual({ sent: [sent.timestamp, sent.signature], status: 401 });
    }
    expect(received()).toEqual([]);
  });

  it('refuses a body, timestamp or signature changed after signing with 401', async () => {
    const good = delivery({ type: 'user_permission.created', data: { user_id: 'u', permission_id: 'p' } });
    const body = String(good.body);
    const cases = [
      { ...good, body: body.replace('"p"', '"q"') },
      { ...good, body: `${body} ` },
      { ...good, timestamp: good.timestamp - 1 },
      { ...good, signature: good.signature.replace(/^./, (c) => (c === '0' ? '1' : '0')) },
      { ...good, signature: fiefSignature(SECRET, good.timestamp, String(JSON.parse(body))) /* signed over "[object Object]" */ },
    ];
    for (const sent of cases) expect((await post(app, sent)).status).toBe(401);
    expect(received()).toEqual([]);
  });

  it('accepts uppercase hex (the same digest) once', async () => {
    const good = delivery({ type: 'role.created', data: { id: 'r' } });
    expect((await post(app, { ...good, signature: good.signature.toUpperCase() })).status).toBe(200);
    expect((await post(app, good)).status).toBe(409); // the same delivery, whatever the case
  });

  it('refuses timestamps outside the tolerance, both ways, with 401; accepts one just inside', async () => {
    const event = { type: 'user.updated', data: userData() };
    expect((await post(app, delivery(event, { timestamp: now() - 301 }))).status).toBe(401);
    expect((await post(app, delivery(event, { timestamp: now() + 301 }))).status).toBe(401);
    expect((await post(app, delivery(event, { timestamp: 0 }))).status).toBe(401);
    expect(received()).toEqual([]);
    expect((await post(app, delivery(event, { timestamp: now() - 290 }))).status).toBe(200);
    expect(received()).toHaveLength(1);
  });

  it('a delivery already accepted never runs the handler twice, even sent many times at once (409)', async () => {
    const sent = delivery({ type: 'user.created', data: userData({ id: 'replayed-user' }) });
    expect((await post(app, sent)).status).toBe(200);
    expect((await post(app, sent)).status).toBe(409);
    const burst = delivery({ type: 'user.created', data: userData({ id: 'burst-user' }) });
    const statuses = (await Promise.all(Array.from({ length: 10 }, () => post(app, burst)))).map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(9);
    expect(received()).toHaveLength(2);
  });

  it("Fief's retry of the same event (fresh timestamp, new signature) is a new delivery and runs", async () => {
    const event = { type: 'user.updated', data: userData({ id: 'retried' }) };
    expect((await post(app, delivery(event, { timestamp: now() - 5 }))).status).toBe(200);
    expect((await post(app, delivery(event, { timestamp: now() }))).status).toBe(200);
    expect(received()).toHaveLength(2);
  });

  it('a valid signature over a body that is not JSON or not a Fief event gets 400, never 500', async () => {
    const bodies = ['not json at all', '{"type":"user.created","data":', '[1,2,3]', '"user.created"', '{"data":{}}', '{"type":"","data":{}}', '{"type":"user.created"}', '{"type":"user.created","data":"x"}', '{"type":"user_role.created","data":{"user_id":"u"}}'];
    for (const body of bodies) {
      const response = await post(app, delivery(body));
      expect({ body, status: response.status }).toEqual({ body, status: 400 });
    }
    // Bytes that are not UTF-8, inside an otherwise valid event.
    const latin1 = Buffer.concat([Buffer.from('{"type":"x.y","data":"caf'), Buffer.from([0xe9]), Buffer.from('"}')]);
    const timestamp = now();
    expect((await post(app, { body: latin1, timestamp, signature: fiefSignature(SECRET, timestamp, latin1) })).status).toBe(400);
    expect(received()).toEqual([]);
  });

  it('unknown event types arrive as they were sent, never dropped', async () => {
    const event = { type: 'user.legacy_registered', data: { whatever: [1, 2] }, object: 'User' };
    expect((await post(app, delivery(event))).status).toBe(200);
    expect(received()).toEqual([event]);
    expect(isKnownFiefWebhookEvent(received()[0])).toBe(false);
  });

  it('bounds the body: over maxBodyBytes is 413, handler not run', async () => {
    const big = { type: 'user.updated', data: userData({ fields: { bio: 'x'.repeat(5000) } }) };
    const response = await post(app, delivery(big));
    expect(response.status).toBe(413);
    expect(received()).toEqual([]);
  });

  it('refuses other content types with 415', async () => {
    const sent = delivery({ type: 'user.created', data: userData() });
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonp']) {
      expect((await post(app, { ...sent, contentType })).status).toBe(415);
    }
    expect(received()).toEqual([]);
  });

  it('@FiefWebhookPayload() without the guard refuses (401): an unverified body never reaches a handler', async () => {
    const response = await post(app, delivery({ type: 'user.created', data: userData() }), '/webhooks/unguarded');
    expect(response.status).toBe(401);
    expect(received()).toEqual([]);
  });
});

describe.each(ADAPTERS)('FiefWebhookGuard on %s without rawBody', (adapter) => {
  it('refuses with 503 and logs the fix once, never verifying a re-serialized body', async () => {
    const logger = new RecordingLogger();
    const app = await createWebhookApp(adapter, { rawBody: false, logger });
    try {
      FiefEventsController.received = [];
      // Compact JSON: a re-serialization would give the very same bytes, and must still not be used.
      const first = await post(app, delivery({ type: 'user.created', data: userData() }));
      const second = await post(app, delivery({ type: 'user.updated', data: userData() }));
      expect([first.status, second.status]).toEqual([503, 503]);
      expect(received()).toEqual([]);
      const errors = logger.lines.filter((line) => line.level === 'error' && line.message.includes('rawBody: true'));
      expect(errors).toHaveLength(1);
    } finally {
      await app.close();
    }
  });
});

describe('FiefWebhookGuard on express with bodyParser: false', () => {
  it('reads the untouched request stream itself: the raw bytes, bounded', async () => {
    const app = await createWebhookApp('express', { rawBody: false, bodyParser: false, fief: { webhooks: { secret: SECRET, maxBodyBytes: 2048 } } });
    try {
      FiefEventsController.received = [];
      expect((await post(app, delivery({ type: 'user.created', data: userData() }))).status).toBe(200);
      expect(received()).toHaveLength(1);
      expect((await post(app, delivery({ type: 'user.created', data: userData({ bio: 'y'.repeat(4000) }) }))).status).toBe(413);
      expect(received()).toHaveLength(1);
    } finally {
      await app.close();
    }
  });
});
