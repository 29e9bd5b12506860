import { Injectable, Optional, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import { from, switchMap, type Observable } from 'rxjs';
import { FiefService } from '../fief.service.js';
import { getFiefRequest } from './execution-context.js';
import { FiefAuthPipeline } from './fief-auth-pipeline.js';
import type { FiefRequestContext } from './fief-request.interface.js';
import { FiefRoutePolicies, type FiefRoutePolicy } from './route-policy.js';

/** Set by `FiefStrategy` on the requests it authenticated: the route's requirements remain to check. */
export const FIEF_PASSPORT_CHECK = Symbol('FIEF:PASSPORT_CHECK');

/**
 * Completes `AuthGuard('fief')`: passport never sees the handler, so right after the guard this
 * interceptor runs the pipeline's last steps: the route's `@Scopes` / `@Permissions` / `@Acr`
 * (403 like `FiefAuthGuard`) and the user for `@CurrentUser()` (503 when Fief cannot be reached).
 * Requests the strategy did not authenticate pass straight through. `FiefModule` registers it as
 * `APP_INTERCEPTOR`.
 */
@Injectable()
export class FiefPassportInterceptor implements NestInterceptor {
  private readonly policies: FiefRoutePolicies;
  private readonly pipeline: FiefAuthPipeline;

  constructor(
    reflector: Reflector,
    fief: FiefService,
    private readonly adapterHost: HttpAdapterHost,
    @Optional() pipeline?: FiefAuthPipeline,
  ) {
    this.policies = new FiefRoutePolicies(reflector);
    this.pipeline = pipeline ?? new FiefAuthPipeline(fief);
    this.pipeline.passportCompleted = true;
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = getFiefRequest(context);
    if (!request?.[FIEF_PASSPORT_CHECK]) return next.handle();
    request[FIEF_PASSPORT_CHECK] = false;
    const fief = request.fief as FiefRequestContext;
    const policy = this.policies.get(context.getHandler(), context.getClass());
    try {
      this.pipeline.check(fief.accessTokenInfo, policy);
    } catch (error) {
      this.refuse(context, error, policy);
    }
    if (!policy.needsUser) return next.handle();
    const loading = this.pipeline.loadUser(fief, policy).catch((error: unknown) => this.refuse(context, error, policy));
    return from(loading).pipe(switchMap(() => next.handle()));
  }

  private refuse(context: ExecutionContext, error: unknown, policy: FiefRoutePolicy): never {
    const failure = this.pipeline.toFailure(error, policy);
    this.pipeline.record(failure);
    const adapter = this.adapterHost.httpAdapter;
    if (adapter && context.getType() === 'http') {
      const response = context.switchToHttp().getResponse();
      for (const [name, value] of this.pipeline.headers(failure)) adapter.setHeader(response, name, value);
    }
    throw this.pipeline.exception(failure, context);
  }
}
