/** Fails on purpose: the Jest spec that runs Vitest checks that the agent's AssertionError is reported. */
import 'reflect-metadata';
import { afterAll, beforeAll, it } from 'vitest';
import { createFiefTestingApp, type FiefTestingApp } from '../../../lib/testing/index.js';
import { createAppModule } from '../../../sample/app.module.js';

let t: FiefTestingApp;
beforeAll(async () => {
  t = await createFiefTestingApp({
    imports: (s) => [createAppModule({ FIEF_BASE_URL: s.baseURL, FIEF_CLIENT_ID: s.clientId, FIEF_CLIENT_SECRET: s.clientSecret })],
  });
});
afterAll(() => t?.close());

it('expects 200 from an anonymous request to a guarded route', async () => {
  await t.agent().get('/castles').expect(200);
});
