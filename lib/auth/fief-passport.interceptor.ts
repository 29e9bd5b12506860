import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import { from, switchMap, type Observable } from 'rxjs';
import { checkAccessTokenInfo } from '../client/fief-client.js';
import { FiefService } from '../fief.service.js';
import { getFiefRequest } from './execution-context.js';
import type { FiefAuthFailure } from './fief-auth-failure.js';
import { createFiefAuthException, refusalHeaders, toAuthFailure } from './fief-auth-responses.js';
import type { FiefRequestContext } from './fief-request.interface.js';
import { FiefRoutePolicies } from './route-policy.js';

/** Set by `FiefStrategy` on the requests it authenticated: the route's requirements remain to check. */
export const FIEF_PASSPORT_CHECK = Symbol('FIEF:PASSPORT_CHECK');

/**
 * Completes `AuthGuard('fief')`: passport never sees the handler, so right after the guard this
 * interceptor checks the route's `@Scopes` / `@Permissions` / `@Acr` (403 like `FiefAuthGuard`) and
 * loads the user for `@CurrentUser()` (503 when Fief cannot be reached). Requests the strategy did
 * not authenticate pass straight through. `FiefModule` registers it as `APP_INTERCEPTOR`.
 */
@Injectable()
export class FiefPassportInterceptor implements NestInterceptor {
  private readonly policies: FiefRoutePolicies;

  constructor(
    reflector: Reflector,
    private readonly fief: FiefService,
    private readonly adapterHost: HttpAdapterHost,
  ) {
    this.policies = new FiefRoutePolicies(reflector);
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = getFiefRequest(context);
    if (!request?.[FIEF_PASSPORT_CHECK]) return next.handle();
    request[FIEF_PASSPORT_CHECK] = false;
    const fief = request.fief as FiefRequestContext;
    const policy = this.policies.get(context.getHandler(), context.getClass());
    const requiredScope = policy.requirements?.requiredScope;
    try {
      if (policy.requirements) checkAccessTokenInfo(fief.accessTokenInfo, policy.requirements);
    } catch (error) {
      this.refuse(context, toAuthFailure(error, requiredScope, this.fief.options.retryAfter));
    }
    if (!policy.needsUser) return next.handle();
    const loading = this.fief.getUserInfo(fief.accessTokenInfo).then(
      (user) => {
        fief.user = user;
      },
      (error: unknown) => this.refuse(context, toAuthFailure(error, requiredScope, this.fief.options.retryAfter)),
    );
    return from(loading).pipe(switchMap(() => next.handle()));
  }

  private refuse(context: ExecutionContext, failure: FiefAuthFailure): never {
    const adapter = this.adapterHost.httpAdapter;
    if (adapter && context.getType() === 'http') {
      const response = context.switchToHttp().getResponse();
      for (const [name, value] of refusalHeaders(this.fief.options.realm, failure)) adapter.setHeader(response, name, value);
    }
    throw this.fief.options.exceptionFactory?.(failure, context) ?? createFiefAuthException(failure);
  }
}
