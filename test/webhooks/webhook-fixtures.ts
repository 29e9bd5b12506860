/** An app with a webhook route on either adapter, and deliveries built and signed exactly as Fief does. */
import { createHmac } from 'node:crypto';
import { Controller, HttpCode, Module, Post, UseGuards, type INestApplication, type LoggerService } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import {
  FiefModule,
  FiefWebhookGuard,
  FiefWebhookPayload,
  Public,
  type FiefModuleOptions,
  type FiefWebhookEvent,
} from '../../lib/index.js';

export type AdapterName = 'express' | 'fastify';
export const ADAPTERS: AdapterName[] = ['express', 'fastify'];
export const SECRET = 'whsec-castles-7f3a';

/** The controller, counting what its handler really received. */
@Controller('webhooks')
export class FiefEventsController {
  static received: FiefWebhookEvent[] = [];

  @Post('fief')
  @Public()
  @UseGuards(FiefWebhookGuard)
  @HttpCode(200)
  handle(@FiefWebhookPayload() event: FiefWebhookEvent) {
    FiefEventsController.received.push(event);
    return { received: event.type };
  }

  /** A route that reads the payload without the guard: a mistake that must not let anything through. */
  @Post('unguarded')
  @Public()
  unguarded(@FiefWebhookPayload() event: FiefWebhookEvent) {
    FiefEventsController.received.push(event);
    return { received: event.type };
  }
}

/** Logs kept for assertions. */
export class RecordingLogger implements LoggerService {
  readonly lines: Array<{ level: string; message: string }> = [];
  log(message: unknown) { this.lines.push({ level: 'log', message: String(message) }); }
  error(message: unknown) { this.lines.push({ level: 'error', message: String(message) }); }
  warn(message: unknown) { this.lines.push({ level: 'warn', message: String(message) }); }
  debug() {}
  verbose() {}
}

export interface WebhookAppOptions {
  fief?: Partial<FiefModuleOptions>;
  rawBody?: boolean;
  bodyParser?: boolean;
  logger?: LoggerService | false;
}

/** A Nest app with the webhook controller, FiefModule configured with `webhooks`. No I/O to Fief is needed. */
export async function createWebhookApp(adapter: AdapterName, options: WebhookAppOptions = {}): Promise<INestApplication> {
  @Module({
    imports: [
      FiefModule.forRoot({
        baseURL: 'http://127.0.0.1:9',
        clientId: 'webhook-test',
        webhooks: { secret: SECRET },
        ...options.fief,
      } as FiefModuleOptions),
    ],
    controllers: [FiefEventsController],
  })
  class WebhookAppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [WebhookAppModule] }).compile();
  const app = moduleRef.createNestApplication(adapter === 'fastify' ? new FastifyAdapter() : new ExpressAdapter(), {
    rawBody: options.rawBody ?? true,
    bodyParser: options.bodyParser ?? true,
    logger: options.logger ?? false,
  });
  await app.init();
  if (adapter === 'fastify') await app.getHttpAdapter().getInstance().ready();
  return app;
}

/** Fief's signature (services/webhooks/delivery.py): hex HMAC-SHA256(secret, "{ts}.{payload}"), written out here on purpose. */
export function fiefSignature(secret: string, timestamp: number | string, payload: string | Buffer): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8'))
    .update(Buffer.concat([Buffer.from(`${timestamp}.`, 'utf8'), Buffer.isBuffer(payload) ? payload : Buffer.from(payload, 'utf8')]))
    .digest('hex');
}

export const now = (): number => Math.floor(Date.now() / 1000);

export const userData = (overrides: Record<string, unknown> = {}) => ({
  id: '6e1c2f0a-0000-4000-8000-000000000001',
  email: 'anne@bretagne.duchy',
  email_verified: true,
  is_active: true,
  tenant_id: '0f0e0d0c-0000-4000-8000-000000000002',
  fields: { first_name: 'Anne' },
  created_at: '2026-12-03T00:00:00Z',
  updated_at: '2026-12-03T00:00:00Z',
  ...overrides,
});

export interface Delivery {
  body: string | Buffer;
  timestamp?: string | number;
  signature?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

/** A delivery signed with `secret` at `timestamp` (now by default), as Fief posts it. */
export function delivery(event: unknown, options: { secret?: string; timestamp?: number } = {}): Delivery & { timestamp: number; signature: string } {
  const body = typeof event === 'string' ? event : JSON.stringify(event);
  const timestamp = options.timestamp ?? now();
  return { body, timestamp, signature: fiefSignature(options.secret ?? SECRET, timestamp, body) };
}

/** POSTs a delivery to the app's webhook route (or another path). */
export function post(app: INestApplication, sent: Delivery, path = '/webhooks/fief') {
  let call = request(app.getHttpServer())
    .post(path)
    .set('content-type', sent.contentType ?? 'application/json')
    .set('user-agent', 'fief-server-webhooks/0.30.0');
  if (sent.timestamp !== undefined) call = call.set('x-fief-webhook-timestamp', String(sent.timestamp));
  if (sent.signature !== undefined) call = call.set('x-fief-webhook-signature', sent.signature);
  for (const [name, value] of Object.entries(sent.headers ?? {})) call = call.set(name, value);
  // superagent would JSON-encode a Buffer (it is an object) under a JSON content type: send its bytes as they are.
  if (Buffer.isBuffer(sent.body)) call = call.serialize((bytes: unknown) => bytes as string);
  return call.send(sent.body as string);
}
