/**
 * Runs the sample: `npm start`. Against a real Fief tenant when FIEF_BASE_URL, FIEF_CLIENT_ID and
 * FIEF_CLIENT_SECRET are set (and a second one with FIEF_GLOBEX_*); otherwise it starts the embedded
 * dev server with two tenants, `duchy` on 127.0.0.1 and `globex` on localhost, and prints tokens to try.
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { NestFactory } from '@nestjs/core';
import { FiefDevServer } from '../lib/testing/index.js';
import { createAppModule, type SampleSettings } from './app.module.js';

const port = Number(process.env.PORT ?? 3000);
const { FIEF_BASE_URL, FIEF_CLIENT_ID, FIEF_CLIENT_SECRET } = process.env;
let devServer: FiefDevServer | undefined;
let settings: SampleSettings | undefined;

if (!FIEF_BASE_URL || !FIEF_CLIENT_ID || !FIEF_CLIENT_SECRET) {
  devServer = new FiefDevServer({ tenants: { globex: {} } });
  const baseURL = await devServer.start();
  const globex = devServer.tenant('globex');
  settings = {
    FIEF_BASE_URL: baseURL,
    FIEF_CLIENT_ID: 'fief-dev-client',
    FIEF_CLIENT_SECRET: 'fief-dev-secret',
    FIEF_WEBHOOK_SECRET: randomBytes(32).toString('base64url'),
    FIEF_GLOBEX_BASE_URL: globex.baseURL,
    FIEF_GLOBEX_CLIENT_ID: globex.clients[0].clientId,
    FIEF_GLOBEX_CLIENT_SECRET: globex.clients[0].clientSecret!,
  };
}

// rawBody: FiefWebhookGuard verifies Fief's signature over the body's exact bytes.
const app = await NestFactory.create(createAppModule(settings), { rawBody: true });
app.enableShutdownHooks();
await app.listen(port, '127.0.0.1');
const url = await app.getUrl();
console.log(`Sample app on ${url}`);
console.log(`  Open ${url}/ in a browser to log in with Fief, see a protected page, a 403 page, and log out.`);
console.log('  API: GET /health (public, Fief reachable?), GET|POST /castles, GET|PATCH /me (bearer token or the login session).');
console.log('  Fief webhooks: POST /webhooks/fief (signed; received events are logged).');

if (devServer) {
  const token = await devServer.issueAccessToken({ user: 'anne@bretagne.duchy', expiresIn: 3600 });
  console.log(`Embedded Fief dev server on ${devServer.baseURL} (set FIEF_BASE_URL, FIEF_CLIENT_ID, FIEF_CLIENT_SECRET to use a real tenant).`);
  console.log('A token for anne@bretagne.duchy (castles:read, castles:create), valid 1 hour:');
  console.log(`  TOKEN=${token}`);
  console.log(`  curl -H "Authorization: Bearer $TOKEN" ${url}/castles`);
  console.log(`  curl -H "Authorization: Bearer $TOKEN" ${url}/me`);
  // The second tenant answers on another host: its own users, tokens and session cookie.
  const globexUrl = `http://localhost:${port}`;
  const globexToken = await devServer.tenant('globex').issueAccessToken({ user: 'anne@bretagne.duchy', expiresIn: 3600 });
  console.log(`Second tenant "globex" (${devServer.tenant('globex').baseURL}) on ${globexUrl}; its token is refused on ${url}:`);
  console.log(`  GLOBEX_TOKEN=${globexToken}`);
  console.log(`  curl -H "Authorization: Bearer $GLOBEX_TOKEN" ${globexUrl}/me`);
  // The dev server sends its user events (created, updated, permissions, deleted) to the sample, signed.
  devServer.addWebhook({ url: `${url}/webhooks/fief`, secret: settings!.FIEF_WEBHOOK_SECRET! });
  const stopDevServer = () => void devServer?.stop();
  process.once('SIGINT', stopDevServer);
  process.once('SIGTERM', stopDevServer);
} else {
  console.log(`Using the Fief tenant at ${FIEF_BASE_URL}: call the API with "Authorization: Bearer <access token>".`);
}
