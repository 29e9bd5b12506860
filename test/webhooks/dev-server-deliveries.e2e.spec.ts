import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { isKnownFiefWebhookEvent, type FiefWebhookEvent } from '../../lib/index.js';
import { FiefDevServer } from '../../lib/testing/index.js';
import { ADAPTERS, createWebhookApp, FiefEventsController } from './webhook-fixtures.js';

const DEV_SECRET = 'whsec-dev-server';

describe.each(ADAPTERS)('Webhooks on %s, delivered by the FiefDevServer', (adapter) => {
  let dev: FiefDevServer;
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    dev = new FiefDevServer({ webhookAttempts: 1 });
    await dev.start();
    app = await createWebhookApp(adapter, { fief: { baseURL: dev.baseURL, webhooks: { secret: ['whsec-old', DEV_SECRET] } } });
    await app.listen(0, '127.0.0.1');
    url = `${await app.getUrl()}/webhooks/fief`.replace('[::1]', '127.0.0.1');
    dev.addWebhook({ url, secret: DEV_SECRET });
  });
  afterAll(async () => {
    await app?.close();
    await dev?.stop();
  });
  beforeEach(() => {
    FiefEventsController.received = [];
  });

  it("receives the dev server's user lifecycle events, verified, in order, with typed data", async () => {
    const user = dev.addUser({ email: 'merlin@broceliande.forest' });
    dev.updateUser('merlin@broceliande.forest', { fields: { first_name: 'Merlin' } });
    dev.grantPermission('merlin@broceliande.forest', 'castles:read');
    dev.revokePermission('merlin@broceliande.forest', 'castles:read');
    dev.deleteUser('merlin@broceliande.forest');
    const deliveries = (await dev.flushWebhooks()).filter((delivery) => delivery.url === url);
    expect(deliveries.map((delivery) => [delivery.type, delivery.ok])).toEqual([
      ['user.created', true],
      ['user.updated', true],
      ['user_permission.created', true],
      ['user_permission.deleted', true],
      ['user.deleted', true],
    ]);
    const events = FiefEventsController.received;
    expect(events.map((event) => event.type)).toEqual(deliveries.map((delivery) => delivery.type));
    expect(events.every(isKnownFiefWebhookEvent)).toBe(true);
    const ids = events.map((event: FiefWebhookEvent) => {
      if (!isKnownFiefWebhookEvent(event)) return undefined;
      switch (event.type) {
        case 'user.created':
        case 'user.updated':
        case 'user.deleted':
          return event.data.id;
        case 'user_permission.created':
        case 'user_permission.deleted':
          return event.data.user_id;
        default:
          return undefined;
      }
    });
    expect(ids).toEqual(Array(5).fill(user.id));
    const updated = events[1];
    if (isKnownFiefWebhookEvent(updated) && updated.type === 'user.updated') expect(updated.data.fields.first_name).toBe('Merlin');
  });

  it('a delivery replayed exactly (same headers, same body) is refused with 409 and does not run twice', async () => {
    dev.addUser({ email: 'viviane@lac.water' });
    const [delivery] = (await dev.flushWebhooks()).filter((d) => d.url === url && d.body.includes('viviane'));
    expect(delivery.ok).toBe(true);
    expect(FiefEventsController.received).toHaveLength(1);
    const replay = await fetch(delivery.url, { method: 'POST', headers: delivery.headers, body: delivery.body });
    expect(replay.status).toBe(409);
    expect(FiefEventsController.received).toHaveLength(1);
  });

  it('an event type the module does not know passes through, as sent', async () => {
    dev.sendWebhook('user.legacy_registered', { id: 'x', note: 'older spelling' });
    await dev.flushWebhooks();
    expect(FiefEventsController.received).toEqual([{ type: 'user.legacy_registered', data: { id: 'x', note: 'older spelling' } }]);
  });

  it('deliveries signed with a secret the app does not hold get 401, handler not run', async () => {
    const stranger = `${url}?stranger=1`;
    dev.addWebhook({ url: stranger, secret: 'whsec-someone-else' });
    try {
      dev.addUser({ email: 'mordred@camlann.field' });
      const attempts = (await dev.flushWebhooks()).filter((d) => d.url === stranger).flatMap((d) => d.attempts);
      expect(attempts.map((attempt) => attempt.status)).toEqual([401]);
      expect(FiefEventsController.received.map((event) => event.type)).toEqual(['user.created']); // the genuine one only
    } finally {
      dev.removeWebhook(stranger);
    }
  });
});
