import { Injectable, Optional } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { FiefAccessTokenInfo } from '../client/types.js';
import { FIEF_STRATEGY_NAME } from '../fief.constants.js';
import { FiefService } from '../fief.service.js';
import { FiefBearerStrategy } from './fief-bearer.strategy.js';
import { FiefAuthPipeline, FiefAuthRefusal } from './fief-auth-pipeline.js';
import { FIEF_PASSPORT_CHECK } from './fief-passport.interceptor.js';
import { findNodeResponse } from './node-response.js';

/**
 * Passport strategy `'fief'` for apps that standardise on `@nestjs/passport`: `AuthGuard('fief')`
 * runs the module's authentication pipeline, so it gives `FiefAuthGuard`'s verdicts (bearer token
 * or session cookie; 401 / 400 / 403 / 503 with the same headers and bodies). `FiefModule`
 * registers it when `@nestjs/passport` is installed; import it from `nestjs-fief/passport` to
 * register or subclass it yourself. The route's `@Scopes` / `@Permissions` / `@Acr` and
 * `@CurrentUser()` are applied right after the guard by the module's interceptor, since passport
 * cannot see the handler. `@Public()` and `@OptionalAuth()` are `FiefAuthGuard` features.
 *
 * @example
 * @Get('castles') @UseGuards(AuthGuard('fief')) @Permissions('castles:read') list() {}
 */
@Injectable()
export class FiefStrategy extends PassportStrategy(FiefBearerStrategy, FIEF_STRATEGY_NAME) {
  /** The pipeline the strategy adapts. */
  protected readonly pipeline: FiefAuthPipeline;

  constructor(fief: FiefService, @Optional() pipeline?: FiefAuthPipeline) {
    super();
    this.pipeline = pipeline ?? new FiefAuthPipeline(fief);
  }

  /** Authenticates the request; `request.user` becomes its `FiefAccessTokenInfo`. */
  async validate(request: any): Promise<FiefAccessTokenInfo> {
    const response = findNodeResponse(request);
    try {
      if (!this.pipeline.passportCompleted) {
        // Fail closed: nothing would check the route's @Scopes / @Permissions after passport.
        throw new FiefAuthRefusal(
          this.pipeline.unreadableCall('passport', "AuthGuard('fief') runs without FiefModule's interceptor (passport: false?), so route requirements would go unchecked."),
        );
      }
      const fief = await this.pipeline.authenticate({ type: 'http', request, response });
      request[FIEF_PASSPORT_CHECK] = true;
      return fief!.accessTokenInfo;
    } catch (error) {
      const failure = this.pipeline.toFailure(error, undefined);
      this.pipeline.record(failure);
      if (response && !response.headersSent) {
        for (const [name, value] of this.pipeline.headers(failure)) response.setHeader(name, value);
      }
      throw this.pipeline.exception(failure, undefined);
    }
  }
}
