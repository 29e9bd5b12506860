import { Injectable, Logger, Optional, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import { FiefService } from '../fief.service.js';
import { getFiefRequest } from './execution-context.js';
import type { FiefAuthFailure } from './fief-auth-failure.js';
import { FiefAuthPipeline, FiefAuthRefusal, type FiefAuthAttempt } from './fief-auth-pipeline.js';
import { buildWwwAuthenticate } from './fief-auth-responses.js';
import { FiefRoutePolicies, type FiefRoutePolicy } from './route-policy.js';

/**
 * Authenticates requests with Fief access tokens (and, with `login`, the session cookie) and
 * enforces `@Scopes`, `@Permissions`, `@Acr`, `@Public` and `@OptionalAuth`. A plain `CanActivate`
 * (no passport) over the module's authentication pipeline: it verifies the token locally
 * (signature and claims, cached by the client) and asks Fief only for unknown signing keys and for
 * `@CurrentUser()`.
 *
 * Answers (RFC 6750): 401 no / malformed / invalid token, 403 `insufficient_scope`, 400 token sent
 * two ways (or a bearer token and a session cookie of different users), 503 + `Retry-After` when
 * Fief cannot be reached; never 500, never a pass on error.
 *
 * Extension: subclass and override `getRequest` / `extractCredential` for another transport, or
 * `throwUnauthorized` / `throwForbidden` / `throwUnavailable` for other responses.
 *
 * @example
 * @Controller('castles') @UseGuards(FiefAuthGuard)
 * class CastlesController { @Get() @Permissions('castles:read') list() {} }
 * @example
 * FiefModule.forRoot({ ...options, globalGuard: true }) // every route, unless @Public()
 */
@Injectable()
export class FiefAuthGuard implements CanActivate {
  protected readonly logger = new Logger('FiefAuthGuard');
  /** The module's authentication pipeline this guard adapts. */
  protected readonly pipeline: FiefAuthPipeline;
  private readonly policies: FiefRoutePolicies;

  constructor(
    protected readonly reflector: Reflector,
    protected readonly fief: FiefService,
    @Optional() protected readonly adapterHost?: HttpAdapterHost,
    @Optional() pipeline?: FiefAuthPipeline,
  ) {
    this.policies = new FiefRoutePolicies(reflector);
    // Built by hand (`new FiefAuthGuard(reflector, fief)`): the pipeline without plugged-in sources.
    this.pipeline = pipeline ?? new FiefAuthPipeline(fief);
  }

  /**
   * `true` synchronously when the token is in the verified-token cache and the route needs no user
   * info (the hot path: no promise, no I/O); otherwise a promise. Refusals are always rejections.
   */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const policy = this.getPolicy(context);
    if (policy.isPublic) return true;
    const request = this.getRequest(context);
    if (request === undefined) {
      const hint = `${this.constructor.name} cannot read a credential from a "${context.getType()}" context; the call is refused. Override getRequest() and add a token extractor for this transport.`;
      this.logger.error(hint);
      return this.refusal(context, { status: 401, description: 'This call cannot be authenticated.' });
    }
    const attempt: FiefAuthAttempt = {
      type: context.getType(),
      request,
      context,
      policy,
      response: context.getType() === 'http' ? context.getArgByIndex(1) : undefined,
      extract: () => this.extractCredential(context, request),
    };
    let verdict: ReturnType<FiefAuthPipeline['authenticate']>;
    try {
      verdict = this.pipeline.authenticate(attempt);
    } catch (error) {
      return this.refusal(context, this.pipeline.toFailure(error, policy));
    }
    if (verdict === null) return true;
    if (!(verdict instanceof Promise)) return true;
    return verdict.then(
      () => true,
      (error: unknown) => this.refusal(context, this.pipeline.toFailure(error, policy)),
    );
  }

  /** The route's combined decorators (memoized per handler and class). */
  protected getPolicy(context: ExecutionContext): FiefRoutePolicy {
    return this.policies.get(context.getHandler(), context.getClass());
  }

  /**
   * The request object to read the credential from and attach `fief` / `user` to; `undefined` for
   * a transport the guard cannot read (refused, with a log line).
   */
  protected getRequest(context: ExecutionContext): Record<string, any> | undefined {
    return getFiefRequest(context);
  }

  /**
   * The access token of the request, through the extractor of the context type (the session cookie
   * is read after it, by the pipeline).
   * @throws FiefInvalidRequestError when the credential is malformed or sent in more than one way.
   */
  protected extractCredential(context: ExecutionContext, request: Record<string, any>): unknown {
    const type = context.getType();
    const extractor = this.fief.sharedOptions.tokenExtractors[type];
    if (!extractor) {
      throw new FiefAuthRefusal(
        this.pipeline.unreadableCall(type, `no token extractor is configured for them (the tokenExtractors option has no "${type}").`),
      );
    }
    return extractor.extract(request, context);
  }

  /** Answers 400 / 401: no, malformed or invalid credential. */
  protected throwUnauthorized(context: ExecutionContext, failure: FiefAuthFailure): never {
    this.setHeader(context, 'WWW-Authenticate', buildWwwAuthenticate(this.fief.sharedOptions.realm, failure));
    throw this.createException(context, failure);
  }

  /** Answers 403: a valid token without the scope, permission or ACR the route needs. */
  protected throwForbidden(context: ExecutionContext, failure: FiefAuthFailure): never {
    this.setHeader(context, 'WWW-Authenticate', buildWwwAuthenticate(this.fief.sharedOptions.realm, failure));
    throw this.createException(context, failure);
  }

  /** Answers 503: the answer depends on Fief, which cannot be reached (or something else broke). */
  protected throwUnavailable(context: ExecutionContext, failure: FiefAuthFailure): never {
    if (failure.retryAfter) this.setHeader(context, 'Retry-After', String(failure.retryAfter));
    throw this.createException(context, failure);
  }

  /** The exception thrown for a refusal: `exceptionFactory` when given, else Nest's own. */
  protected createException(context: ExecutionContext, failure: FiefAuthFailure): Error {
    return this.pipeline.exception(failure, context);
  }

  /** Sets a response header on HTTP (Express or Fastify, through the HTTP adapter); a no-op elsewhere. */
  protected setHeader(context: ExecutionContext, name: string, value: string): void {
    const adapter = this.adapterHost?.httpAdapter;
    if (context.getType() !== 'http' || !adapter) return;
    adapter.setHeader(context.switchToHttp().getResponse(), name, value);
  }

  /** A refusal as a rejected promise: refusals never throw synchronously out of `canActivate`. */
  private refusal(context: ExecutionContext, failure: FiefAuthFailure): Promise<never> {
    this.pipeline.record(failure);
    try {
      if (failure.status === 403) return this.throwForbidden(context, failure);
      if (failure.status === 503) return this.throwUnavailable(context, failure);
      return this.throwUnauthorized(context, failure);
    } catch (error) {
      return Promise.reject(error);
    }
  }
}
