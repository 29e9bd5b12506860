/**
 * The app under load, run in its own process (forked by run.ts) so that the load generator's CPU is
 * not counted against the routes. It reports its own CPU time on request, over IPC. Configured by
 * run.ts through BENCH_APP (see bench-config.ts).
 */
import 'reflect-metadata';
import {
  Controller,
  Get,
  Injectable,
  Module,
  UnauthorizedException,
  UseGuards,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AuthGuard, PassportModule, PassportStrategy } from '@nestjs/passport';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { createPublicKey, verify, type JsonWebKey } from 'node:crypto';
import { ExtractJwt, Strategy as JwtStrategy } from 'passport-jwt';
import jwksRsa from 'jwks-rsa';
import { setSignatureVerifyMode } from '../../lib/client/rs256.js';
import { CurrentUser, FiefAuthGuard, FiefModule, Permissions, type FiefUserInfo } from '../../lib/index.js';
import type { BenchAppConfig } from './bench-config.js';
import { registerBenchTelemetry, type BenchTelemetry } from './bench-telemetry.js';

const config = JSON.parse(process.env.BENCH_APP!) as BenchAppConfig;
const { baseURL, issuer, clientId, clientSecret } = config;
setSignatureVerifyMode(config.verifyMode);
// Before the module exists, as OpenTelemetry asks of apps.
const telemetry: BenchTelemetry | undefined = config.telemetry ? registerBenchTelemetry() : undefined;

/** The recipe users would otherwise pick: passport-jwt + jwks-rsa, wired as their READMEs show. */
@Injectable()
class BaselineJwtStrategy extends PassportStrategy(JwtStrategy, 'baseline-jwt') {
  constructor() {
    super({
      secretOrKeyProvider: jwksRsa.passportJwtSecret({
        cache: true,
        rateLimit: true,
        jwksRequestsPerMinute: 5,
        jwksUri: `${baseURL}/.well-known/jwks.json`,
      }),
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      audience: clientId,
      issuer,
      algorithms: ['RS256'],
    });
  }

  validate(payload: unknown) {
    return payload;
  }
}

/** Any Nest guard at all: what the guard pipeline costs before a guard does anything. */
class PassGuard implements CanActivate {
  canActivate(): boolean {
    return true;
  }
}

const CONSTANT_INFO = Object.freeze({ id: 'bench', scope: ['openid'], acr: '0', permissions: [], access_token: 'x', exp: 0 });

/** The guard's contract without its checks: `request.user` and `request.fief` set, nothing verified. */
class AttachGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.getArgByIndex(0);
    request.fief = { accessToken: 'x', accessTokenInfo: CONSTANT_INFO };
    request.user = CONSTANT_INFO;
    return true;
  }
}

const LIMIT_KEY = createPublicKey({ key: config.publicJwk as JsonWebKey, format: 'jwk' });

/**
 * The physical limit of any guard that checks a signature: the token's segments base64url-decoded
 * and the bare node:crypto RS256 verify (in the app's verify mode), no cache, no other check.
 */
class LimitGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const header: string = context.getArgByIndex(0).headers.authorization ?? '';
    const token = header.slice(7);
    const first = token.indexOf('.');
    const last = token.lastIndexOf('.');
    Buffer.from(token.slice(0, first), 'base64url');
    Buffer.from(token.slice(first + 1, last), 'base64url');
    const signature = Buffer.from(token.slice(last + 1), 'base64url');
    const input = Buffer.from(token.slice(0, last), 'latin1');
    if (config.verifyMode === 'thread-pool') {
      return new Promise((resolve, reject) =>
        verify('RSA-SHA256', input, LIMIT_KEY, signature, (error, ok) => (error || !ok ? reject(new UnauthorizedException()) : resolve(true))),
      );
    }
    if (!verify('RSA-SHA256', input, LIMIT_KEY, signature)) throw new UnauthorizedException();
    return true;
  }
}

@Controller()
class BenchController {
  @Get('unguarded')
  unguarded() {
    return { ok: true };
  }

  @Get('pass-guard')
  @UseGuards(PassGuard)
  passGuard() {
    return { ok: true };
  }

  @Get('attach-guard')
  @UseGuards(AttachGuard)
  attachGuard() {
    return { ok: true };
  }

  @Get('limit-guard')
  @UseGuards(LimitGuard)
  limitGuard() {
    return { ok: true };
  }

  @Get('guard')
  @UseGuards(FiefAuthGuard)
  guard() {
    return { ok: true };
  }

  @Get('guard-permissions')
  @UseGuards(FiefAuthGuard)
  @Permissions('castles:read')
  guardPermissions() {
    return { ok: true };
  }

  @Get('passport-fief')
  @UseGuards(AuthGuard('fief'))
  passportFief() {
    return { ok: true };
  }

  @Get('current-user')
  @UseGuards(FiefAuthGuard)
  currentUser(@CurrentUser() user: FiefUserInfo) {
    return { ok: user.sub.length > 0 };
  }

  @Get('baseline')
  @UseGuards(AuthGuard('baseline-jwt'))
  baseline() {
    return { ok: true };
  }
}

const tokenCache = config.tokenCacheEntries ? { maxEntries: config.tokenCacheEntries } : undefined;
const fiefOptions = config.tenants
  ? {
      tenants: Object.fromEntries(config.tenants.map(({ name, ...tenant }) => [name, { ...tenant, tokenCache }])),
    }
  : { baseURL, clientId, clientSecret, tokenCache };

@Module({
  // The tenants option arrives with the pipeline's multi-tenant module; typed loosely until then.
  imports: [PassportModule, FiefModule.forRoot(fiefOptions as Parameters<typeof FiefModule.forRoot>[0])],
  controllers: [BenchController],
  providers: [BaselineJwtStrategy],
})
class BenchModule {}

const adapter = config.adapter === 'fastify' ? new FastifyAdapter() : new ExpressAdapter();
const app = await NestFactory.create(BenchModule, adapter, { logger: ['error'] });
await app.listen(0, '127.0.0.1');
const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');

process.on('message', (message: { type: string }) => {
  if (message.type === 'gc') {
    globalThis.gc?.();
    process.send!({ type: 'gc' });
  } else if (message.type === 'cpu') {
    const usage = process.cpuUsage();
    process.send!({ type: 'cpu', micros: usage.user + usage.system, heap: process.memoryUsage().heapUsed });
  } else if (message.type === 'telemetry') {
    void (telemetry?.report() ?? Promise.resolve(undefined)).then((report) => process.send!({ type: 'telemetry', report }));
  } else if (message.type === 'stop') {
    void app.close().then(() => process.exit(0));
  }
});
process.send!({ type: 'ready', url });
