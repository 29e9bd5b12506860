/**
 * Shared by the adversarial suite: an app per adapter behind `FiefAuthGuard`, listening on
 * 127.0.0.1, whose handlers count their calls, and a forger that signs JWTs with any algorithm
 * and key (node:crypto directly, so that weak keys and odd headers jose would refuse to produce can
 * be sent too).
 */
import { createHmac, generateKeyPairSync, KeyObject, sign as cryptoSign } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Controller, Get, Post, UseGuards, type INestApplication, type LoggerService, type ModuleMetadata } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { expect } from '@jest/globals';
import { AuthGuard } from '@nestjs/passport';
import { Acr, CurrentUser, FiefAuthGuard, Permissions, Scopes, type FiefUserInfo } from '../../lib/index.js';

export type AdapterName = 'express' | 'fastify';
export const ADAPTERS: AdapterName[] = ['express', 'fastify'];
export const CLIENT = { clientId: 'fief-dev-client', clientSecret: 'fief-dev-secret' };
export const ANNE = 'anne@bretagne.duchy';

/** Calls of each handler of {@link TargetController}: a refused request must leave them unchanged. */
export const handlerCalls = { plain: 0, permission: 0, scope: 0, acr: 0, me: 0, form: 0, passport: 0, passportPermission: 0 };
export const totalHandlerCalls = (): number => Object.values(handlerCalls).reduce((sum, calls) => sum + calls, 0);

/** The routes an attacker aims at, one per kind of requirement. */
@Controller('target')
@UseGuards(FiefAuthGuard)
export class TargetController {
  @Get('plain')
  plain() {
    handlerCalls.plain++;
    return { ok: true };
  }

  @Post('plain')
  form() {
    handlerCalls.form++;
    return { ok: true };
  }

  @Get('permission')
  @Permissions('castles:create')
  permission() {
    handlerCalls.permission++;
    return { ok: true };
  }

  @Get('scope')
  @Scopes('castles')
  scope() {
    handlerCalls.scope++;
    return { ok: true };
  }

  @Get('acr')
  @Acr('1')
  acr() {
    handlerCalls.acr++;
    return { ok: true };
  }

  @Get('me')
  me(@CurrentUser() user: FiefUserInfo) {
    handlerCalls.me++;
    return { email: user.email };
  }
}

/** The same kind of routes behind `AuthGuard('fief')`, the passport strategy: the second way in. */
@Controller('passport-target')
@UseGuards(AuthGuard('fief'))
export class PassportTargetController {
  @Get('plain')
  plain() {
    handlerCalls.passport++;
    return { ok: true };
  }

  @Get('permission')
  @Permissions('castles:create')
  permission() {
    handlerCalls.passportPermission++;
    return { ok: true };
  }
}

/** An app on `adapter`, initialized and listening on 127.0.0.1 on a free port. */
export async function startApp(
  adapter: AdapterName,
  metadata: ModuleMetadata,
  logger: LoggerService | false = false,
): Promise<{ app: INestApplication; url: string }> {
  const moduleRef = await Test.createTestingModule(metadata).compile();
  const app = moduleRef.createNestApplication(adapter === 'fastify' ? new FastifyAdapter() : new ExpressAdapter(), { logger });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { app, url: `http://127.0.0.1:${port}` };
}

const b64 = (value: string | Buffer) => Buffer.from(value).toString('base64url');

/** A signing key of any kind node:crypto knows. */
export type ForgeKey = { kind: 'rsa' | 'rsa-pss' | 'ec'; key: KeyObject } | { kind: 'hmac'; secret: Buffer | string } | { kind: 'none' };

/** `header.payload.signature` with exactly the header and payload given, signed as `alg` says. */
export function forgeJwt(header: Record<string, unknown>, payload: Record<string, unknown> | string, key: ForgeKey): string {
  const input = `${b64(JSON.stringify(header))}.${b64(typeof payload === 'string' ? payload : JSON.stringify(payload))}`;
  // The digest follows the alg's size (RS384 → sha384); odd algs are signed with sha256.
  const hash = `sha${/(256|384|512)$/.exec(String(header.alg))?.[1] ?? '256'}`;
  switch (key.kind) {
    case 'none':
      return `${input}.`;
    case 'hmac':
      return `${input}.${createHmac(hash, key.secret).update(input).digest('base64url')}`;
    case 'rsa':
      return `${input}.${cryptoSign(hash, Buffer.from(input), key.key).toString('base64url')}`;
    case 'rsa-pss':
      return `${input}.${cryptoSign(hash, Buffer.from(input), { key: key.key, padding: 6, saltLength: Number(hash.slice(3)) / 8 }).toString('base64url')}`;
    case 'ec':
      return `${input}.${cryptoSign(hash, Buffer.from(input), { key: key.key, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
  }
}

/** A fresh RSA private key of `bits` bits (1024 allowed: node:crypto does not refuse it). */
export const rsaKey = (bits = 2048): KeyObject => generateKeyPairSync('rsa', { modulusLength: bits }).privateKey;

/** The dev server's private key as a node:crypto key. */
export const toKeyObject = (key: CryptoKey): KeyObject => KeyObject.from(key);

/** Claims of a valid Fief access token for `sub`, issued now by `issuer` to our client. */
export function accessClaims(issuer: string, sub: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = {
    iss: issuer,
    sub,
    aud: [CLIENT.clientId],
    azp: CLIENT.clientId,
    exp: now + 3600,
    iat: now,
    acr: '0',
    scope: 'openid',
    permissions: [],
    ...overrides,
  };
  for (const [name, value] of Object.entries(overrides)) if (value === undefined) delete claims[name];
  return claims;
}

/** An HTTP server that counts what reaches it: where a hostile `jku` / `x5u` points. */
export async function startTrap(): Promise<{ url: string; hits: () => number; close: () => Promise<void> }> {
  let hits = 0;
  const server: Server = createServer((_req, res) => {
    hits++;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits: () => hits,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Sends raw request bytes (for what HTTP clients refuse to send, e.g. repeated headers); the status and headers. */
export function rawRequest(url: string, head: string): Promise<{ status: number; headers: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.end(`${head}\r\nConnection: close\r\n\r\n`));
    let data = '';
    socket.setEncoding('latin1');
    socket.setTimeout(5000, () => socket.destroy(new Error('raw request timed out')));
    socket.on('data', (chunk) => (data += chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const status = /^HTTP\/1\.1 (\d{3})/.exec(data);
      if (!status) return reject(new Error(`no HTTP answer: ${JSON.stringify(data.slice(0, 200))}`));
      resolve({ status: Number(status[1]), headers: data.split('\r\n\r\n')[0] });
    });
  });
}

/** The `error` code of a `WWW-Authenticate` challenge, `null` when it has none. */
export function challengeError(header: string | undefined | null): string | null {
  expect(header).toMatch(/^Bearer realm="fief"/);
  return /error="([^"]+)"/.exec(header!)?.[1] ?? null;
}

/** Runs `send` and checks it was refused with `status` / `error` and that no handler ran. */
export async function expectRefused(
  send: () => Promise<Response>,
  status: number,
  error: string | null,
): Promise<Response> {
  const before = totalHandlerCalls();
  const res = await send();
  const body = await res.text();
  expect({ status: res.status, body: body.slice(0, 300) }).toEqual({ status, body: expect.any(String) });
  if (status === 400 || status === 401 || status === 403) expect(challengeError(res.headers.get('www-authenticate'))).toBe(error);
  if (status === 503) expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
  expect(totalHandlerCalls()).toBe(before);
  return res;
}
