/** The README's "Testing your app" test, under Vitest: no Jest globals anywhere in the helpers. */
import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFiefTestingApp, type FiefTestingApp } from '../../../lib/testing/index.js';
import { createAppModule } from '../../../sample/app.module.js';

describe('castles, under Vitest', () => {
  let t: FiefTestingApp;

  beforeAll(async () => {
    t = await createFiefTestingApp({
      imports: ({ baseURL, clientId, clientSecret }) => [
        createAppModule({ FIEF_BASE_URL: baseURL, FIEF_CLIENT_ID: clientId, FIEF_CLIENT_SECRET: clientSecret }),
      ],
    });
  });
  afterAll(() => t?.close());

  it('lets anne build a castle with a bearer token, and refuses guest', async () => {
    const anne = await t.loginAs('anne@bretagne.duchy');
    const built = await anne.post('/castles').send({ name: 'Château de Nantes' }).expect(201);
    expect(built.body.name).toBe('Château de Nantes');
    const guest = await t.loginAs('guest@example.com');
    await guest.post('/castles').send({ name: 'Keep' }).expect(403);
  });

  it('logs guest in through the app own login flow', async () => {
    const guest = await t.loginAs('guest@example.com', { session: true });
    await guest.get('/castles').expect(200);
  });
});
