import { Injectable, Logger, Optional, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import { checkAccessTokenInfo } from '../client/fief-client.js';
import type { FiefAccessTokenInfo, FiefUserInfo } from '../client/types.js';
import { FiefService } from '../fief.service.js';
import { createFiefSessionExtractor } from '../login/session-token-extractor.js';
import { FiefSessionService } from '../login/session.service.js';
import type { FiefTokenExtractor } from './token-extractor.js';
import { recordRefusal } from '../telemetry/index.js';
import { getFiefRequest } from './execution-context.js';
import type { FiefAuthFailure } from './fief-auth-failure.js';
import { buildWwwAuthenticate, createFiefAuthException, MISSING_CREDENTIAL, toAuthFailure } from './fief-auth-responses.js';
import type { FiefRequestContext } from './fief-request.interface.js';
import { FiefRoutePolicies, type FiefRoutePolicy } from './route-policy.js';
import { credentialOrNone } from './token-extractor.js';

const UNAVAILABLE_LOG_INTERVAL_MS = 10_000;

// A custom extractor may hand back anything, even an array (a repeated parameter): only a thenable is awaited.
const isPromise = (value: unknown): value is Promise<unknown> => typeof (value as { then?: unknown } | null)?.then === 'function';

/**
 * Authenticates requests with Fief access tokens and enforces `@Scopes`, `@Permissions`, `@Acr`,
 * `@Public` and `@OptionalAuth`. A plain `CanActivate` (no passport): it verifies the token locally
 * (signature and claims, cached by the client) and asks Fief only for unknown signing keys and for
 * `@CurrentUser()`.
 *
 * Answers (RFC 6750): 401 no / malformed / invalid token, 403 `insufficient_scope`, 400 token sent
 * two ways, 503 + `Retry-After` when Fief cannot be reached; never 500, never a pass on error.
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
  private readonly policies: FiefRoutePolicies;
  private readonly httpExtractor?: FiefTokenExtractor;
  private lastUnavailableLog = 0;
  private unavailableSinceLog = 0;

  constructor(
    protected readonly reflector: Reflector,
    protected readonly fief: FiefService,
    @Optional() protected readonly adapterHost?: HttpAdapterHost,
    @Optional() sessions?: FiefSessionService,
  ) {
    this.policies = new FiefRoutePolicies(reflector);
    // With the login flow on, a browser without a bearer token authenticates with its session cookie.
    const http = fief.options.tokenExtractors.http;
    if (sessions?.enabled && http) this.httpExtractor = createFiefSessionExtractor(sessions, http);
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
      this.logger.error(
        `FiefAuthGuard cannot read a credential from a "${context.getType()}" context; the call is refused. ` +
          'Override getRequest() and add a token extractor for this transport.',
      );
      return Promise.reject(new UnauthorizedException());
    }
    let accessToken: string | undefined;
    try {
      const extracted = this.extractCredential(context, request);
      // Only async sources (e.g. a session cookie that may need a refresh) pay for an extra await.
      if (isPromise(extracted)) {
        return extracted.then(
          (token) => this.authenticate(context, request, policy, credentialOrNone(token)),
          (error: unknown) => this.refusal(context, toAuthFailure(error, undefined, this.fief.options.retryAfter)),
        );
      }
      accessToken = credentialOrNone(extracted);
      if (accessToken === undefined || policy.needsUser) return this.authenticate(context, request, policy, accessToken);
    } catch (error) {
      return this.refusal(context, toAuthFailure(error, undefined, this.fief.options.retryAfter));
    }
    const cached = this.fief.getVerifiedAccessToken(accessToken);
    if (cached === undefined) return this.authenticate(context, request, policy, accessToken);
    try {
      if (policy.requirements) checkAccessTokenInfo(cached, policy.requirements);
    } catch (error) {
      return this.refusal(context, toAuthFailure(error, policy.requirements?.requiredScope, this.fief.options.retryAfter));
    }
    this.attach(request, accessToken, cached, undefined);
    return true;
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
   * The access token of the request, through the extractor of the context type.
   * @throws FiefInvalidRequestError when the credential is malformed or sent in more than one way.
   */
  protected extractCredential(
    context: ExecutionContext,
    request: Record<string, any>,
  ): string | undefined | Promise<string | undefined> {
    const type = context.getType();
    const extractor = (type === 'http' && this.httpExtractor) || this.fief.options.tokenExtractors[type];
    if (!extractor) throw new Error(`No token extractor is configured for "${context.getType()}" contexts (tokenExtractors option).`);
    return extractor.extract(request, context);
  }

  /** Answers 400 / 401: no, malformed or invalid credential. */
  protected throwUnauthorized(context: ExecutionContext, failure: FiefAuthFailure): never {
    this.setHeader(context, 'WWW-Authenticate', buildWwwAuthenticate(this.fief.options.realm, failure));
    throw this.createException(context, failure);
  }

  /** Answers 403: a valid token without the scope, permission or ACR the route needs. */
  protected throwForbidden(context: ExecutionContext, failure: FiefAuthFailure): never {
    this.setHeader(context, 'WWW-Authenticate', buildWwwAuthenticate(this.fief.options.realm, failure));
    throw this.createException(context, failure);
  }

  /** Answers 503: the answer depends on Fief, which cannot be reached (or something else broke). */
  protected throwUnavailable(context: ExecutionContext, failure: FiefAuthFailure): never {
    this.logUnavailable(failure);
    if (failure.retryAfter) this.setHeader(context, 'Retry-After', String(failure.retryAfter));
    throw this.createException(context, failure);
  }

  /** The exception thrown for a refusal: `exceptionFactory` when given, else Nest's own. */
  protected createException(context: ExecutionContext, failure: FiefAuthFailure): Error {
    return this.fief.options.exceptionFactory?.(failure, context) ?? createFiefAuthException(failure);
  }

  /** Sets a response header on HTTP (Express or Fastify, through the HTTP adapter); a no-op elsewhere. */
  protected setHeader(context: ExecutionContext, name: string, value: string): void {
    const adapter = this.adapterHost?.httpAdapter;
    if (context.getType() !== 'http' || !adapter) return;
    adapter.setHeader(context.switchToHttp().getResponse(), name, value);
  }

  // While Fief is down every request fails the same way: one line per interval, with the count.
  private logUnavailable(failure: FiefAuthFailure): void {
    const now = Date.now();
    this.unavailableSinceLog++;
    if (now - this.lastUnavailableLog < UNAVAILABLE_LOG_INTERVAL_MS) return;
    const count = this.unavailableSinceLog;
    this.unavailableSinceLog = 0;
    this.lastUnavailableLog = now;
    const reason = failure.cause instanceof Error ? `${failure.cause.name}: ${failure.cause.message}` : failure.description;
    this.logger.warn(`Refused ${count} request(s) with 503 since the last report: ${reason}`);
  }

  /** Verifies the token (cache, then signature and claims), checks the route's needs, attaches the result. */
  private async authenticate(
    context: ExecutionContext,
    request: Record<string, any>,
    policy: FiefRoutePolicy,
    accessToken: string | undefined,
  ): Promise<boolean> {
    if (accessToken === undefined) {
      if (policy.isOptional) return true;
      return this.refuse(context, this.withScope(MISSING_CREDENTIAL, policy));
    }
    let accessTokenInfo: FiefAccessTokenInfo;
    let user: FiefUserInfo | undefined;
    try {
      accessTokenInfo = await this.fief.verifyAccessToken(accessToken);
      if (policy.requirements) checkAccessTokenInfo(accessTokenInfo, policy.requirements);
      if (policy.needsUser) user = await this.fief.getUserInfo(accessTokenInfo);
    } catch (error) {
      return this.refuse(context, toAuthFailure(error, policy.requirements?.requiredScope, this.fief.options.retryAfter));
    }
    this.attach(request, accessToken, accessTokenInfo, user);
    return true;
  }

  private attach(request: Record<string, any>, accessToken: string, accessTokenInfo: FiefAccessTokenInfo, user: FiefUserInfo | undefined): void {
    const fief: FiefRequestContext = { accessToken, accessTokenInfo, user };
    request.fief = fief;
    request.user = accessTokenInfo;
  }

  /** {@link refuse} as a rejected promise: refusals never throw synchronously out of `canActivate`. */
  private refusal(context: ExecutionContext, failure: FiefAuthFailure): Promise<never> {
    try {
      return this.refuse(context, failure);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private refuse(context: ExecutionContext, failure: FiefAuthFailure): never {
    recordRefusal(failure.status, failure.error);
    if (failure.status === 403) return this.throwForbidden(context, failure);
    if (failure.status === 503) return this.throwUnavailable(context, failure);
    return this.throwUnauthorized(context, failure);
  }

  private withScope(failure: FiefAuthFailure, policy: FiefRoutePolicy): FiefAuthFailure {
    // RFC 6750 §3: a challenge may tell the client which scope to ask for.
    const scope = policy.requirements?.requiredScope;
    return scope ? { ...failure, scope } : failure;
  }
}
