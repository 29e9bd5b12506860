/**
 * The app under load, run in its own process (forked by run.ts) so that the load generator's CPU is
 * not counted against the routes. It reports its own CPU time on request, over IPC.
 */
import 'reflect-metadata';
import { Controller, Get, Injectable, Module, UseGuards, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AuthGuard, PassportModule, PassportStrategy } from '@nestjs/passport';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { ExtractJwt, Strategy as JwtStrategy } from 'passport-jwt';
import jwksRsa from 'jwks-rsa';
import { CurrentUser, FiefAuthGuard, FiefModule, Permissions, type FiefUserInfo } from '../../lib/index.js';

const [adapterName, baseURL, issuer, clientId, clientSecret] = process.argv.slice(2);

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

@Module({
  imports: [PassportModule, FiefModule.forRoot({ baseURL, clientId, clientSecret })],
  controllers: [BenchController],
  providers: [BaselineJwtStrategy],
})
class BenchModule {}

const adapter = adapterName === 'fastify' ? new FastifyAdapter() : new ExpressAdapter();
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
  } else if (message.type === 'stop') {
    void app.close().then(() => process.exit(0));
  }
});
process.send!({ type: 'ready', url });
