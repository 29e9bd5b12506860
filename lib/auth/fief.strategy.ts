import { Injectable, Logger } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ServerResponse } from 'node:http';
import type { FiefAccessTokenInfo } from '../client/types.js';
import { FiefService } from '../fief.service.js';
import { FiefBearerStrategy } from './fief-bearer.strategy.js';
import type { FiefAuthFailure } from './fief-auth-failure.js';
import { createFiefAuthException, MISSING_CREDENTIAL, refusalHeaders, toAuthFailure } from './fief-auth-responses.js';
import { FIEF_PASSPORT_CHECK } from './fief-passport.interceptor.js';
import { credentialOrNone } from './token-extractor.js';
import { FIEF_STRATEGY_NAME } from '../fief.constants.js';

/**
 * The Node response of a request: Express links it (`req.res`); under Fastify the raw socket's
 * current response is taken, and used only when it answers this very request.
 */
function findResponse(request: any): ServerResponse | undefined {
  if (request.res instanceof ServerResponse) return request.res;
  const candidate = request.raw?.socket?._httpMessage;
  return candidate instanceof ServerResponse && candidate.req === request.raw ? candidate : undefined;
}

/**
 * Passport strategy `'fief'` for apps that standardise on `@nestjs/passport`: `AuthGuard('fief')`
 * gives the guard's verdicts (401 / 403 / 503 with the same headers and bodies). `FiefModule`
 * registers it. The route's `@Scopes` / `@Permissions` / `@Acr` and `@CurrentUser()` are applied
 * right after the guard by `FiefPassportInterceptor`, since passport cannot see the handler.
 * `@Public()` and `@OptionalAuth()` are `FiefAuthGuard` features.
 *
 * @example
 * @Get('castles') @UseGuards(AuthGuard('fief')) @Permissions('castles:read') list() {}
 */
@Injectable()
export class FiefStrategy extends PassportStrategy(FiefBearerStrategy, FIEF_STRATEGY_NAME) {
  private readonly logger = new Logger('FiefStrategy');

  constructor(private readonly fief: FiefService) {
    super();
  }

  /** Extracts and verifies the bearer token; `request.user` becomes its `FiefAccessTokenInfo`. */
  async validate(request: any): Promise<FiefAccessTokenInfo> {
    const { options } = this.fief;
    let accessToken: string | undefined;
    try {
      accessToken = credentialOrNone(await options.tokenExtractors.http?.extract(request));
    } catch (error) {
      this.refuse(request, toAuthFailure(error, undefined, options.retryAfter));
    }
    if (accessToken === undefined) this.refuse(request, MISSING_CREDENTIAL);
    let accessTokenInfo: FiefAccessTokenInfo;
    try {
      accessTokenInfo = await this.fief.verifyAccessToken(accessToken);
    } catch (error) {
      this.refuse(request, toAuthFailure(error, undefined, options.retryAfter));
    }
    request.fief = { accessToken, accessTokenInfo };
    request[FIEF_PASSPORT_CHECK] = true;
    return accessTokenInfo;
  }

  private refuse(request: any, failure: FiefAuthFailure): never {
    if (failure.status === 503) this.logger.warn(`Refused with 503: ${(failure.cause as Error)?.message ?? failure.description}`);
    const response = findResponse(request);
    if (response && !response.headersSent) {
      for (const [name, value] of refusalHeaders(this.fief.options.realm, failure)) response.setHeader(name, value);
    }
    throw this.fief.options.exceptionFactory?.(failure, undefined) ?? createFiefAuthException(failure);
  }
}
