import { Inject, Injectable, Logger, Optional, type ExecutionContext } from '@nestjs/common';
import { checkAccessTokenInfo } from '../client/fief-client.js';
import type { FiefAccessTokenInfo } from '../client/types.js';
import { FiefService } from '../fief.service.js';
import { recordRefusal } from '../telemetry/index.js';
import { FIEF_CREDENTIAL_SOURCES, type FiefCredentialSource } from './credential-source.js';
import type { FiefAuthFailure } from './fief-auth-failure.js';
import { createFiefAuthException, MISSING_CREDENTIAL, refusalHeaders, toAuthFailure } from './fief-auth-responses.js';
import type { FiefRequestContext } from './fief-request.interface.js';
import type { FiefRoutePolicy } from './route-policy.js';
import { chooseTenant, NO_TENANT } from './tenant-choice.js';
import { credentialOrNone, FiefInvalidRequestError } from './token-extractor.js';
import { FiefUnavailableLog } from './unavailable-log.js';

/** A refusal on its way to an answer: thrown (or rejected) by the pipeline's steps. */
export class FiefAuthRefusal extends Error {
  constructor(readonly failure: FiefAuthFailure) {
    super(failure.description);
  }
}

/** One authentication: where the credential is and what the route asks. */
export interface FiefAuthAttempt {
  /** The context type (`'http'`, `'graphql'`, `'ws'`, `'rpc'`). */
  readonly type: string;
  /** The object the credential is read from and the result attached to. */
  readonly request: Record<string, any>;
  /** Absent under `AuthGuard('fief')`, which passport does not give. */
  readonly context?: ExecutionContext;
  /** Where a refreshed session cookie is set (HTTP only). */
  readonly response?: object;
  /** The route's requirements; absent under `AuthGuard('fief')` (checked after it). */
  readonly policy?: FiefRoutePolicy;
  /** The token of the request, when the entry point reads it its own way (a guard's `extractCredential`). */
  readonly extract?: () => unknown;
}

type Verdict = FiefRequestContext | null;

const isPromise = (value: unknown): value is Promise<unknown> => typeof (value as { then?: unknown } | null)?.then === 'function';

const CONFLICT = 'The bearer token and the session cookie belong to different users: send one credential.';

/**
 * The one authentication pipeline every entry point adapts (`FiefAuthGuard`, `FiefTransportAuthGuard`,
 * `AuthGuard('fief')`, the auth controller): choose the tenant, pick the credential (token
 * extractor, then the plugged-in credential sources such as the session cookie), verify it with
 * that tenant's Fief, check the route's requirements, load the user when asked, and turn a refusal
 * into an answer. A verified-token cache hit on a route that needs no user settles synchronously.
 */
@Injectable()
export class FiefAuthPipeline {
  private readonly logger = new Logger('FiefAuth');
  private readonly unavailable = new FiefUnavailableLog(this.logger);
  private readonly unreadable = new Set<string>();
  /**
   * Set by the interceptor that completes `AuthGuard('fief')` (route requirements, user): without
   * it the strategy refuses rather than let a route's `@Permissions` go unchecked.
   */
  passportCompleted = false;

  constructor(
    readonly fief: FiefService,
    @Optional() @Inject(FIEF_CREDENTIAL_SOURCES) private readonly sources: FiefCredentialSource[] = [],
  ) {}

  /**
   * Authenticates the attempt and attaches `request.fief` / `request.user` (and the tenant).
   *
   * @returns the request context; `null` for an anonymous caller of an `@OptionalAuth()` route.
   * @throws FiefAuthRefusal (synchronously or as a rejection) carrying the refusal.
   */
  authenticate(attempt: FiefAuthAttempt): Verdict | Promise<Verdict> {
    const resolve = this.fief.tenants?.resolveTenant;
    if (!resolve) return this.withTenant(attempt, undefined);
    let named: unknown;
    try {
      named = resolve(attempt.request, attempt.context);
    } catch (error) {
      return this.reject(error, attempt.policy);
    }
    if (isPromise(named)) return named.then((name) => this.withTenant(attempt, name), (error: unknown) => this.reject(error, attempt.policy));
    return this.withTenant(attempt, named);
  }

  /** Checks a verified token against the route's requirements. @throws FiefAuthRefusal (403). */
  check(accessTokenInfo: FiefAccessTokenInfo, policy: FiefRoutePolicy | undefined): void {
    if (!policy?.requirements) return;
    try {
      checkAccessTokenInfo(accessTokenInfo, policy.requirements);
    } catch (error) {
      throw new FiefAuthRefusal(this.toFailure(error, policy));
    }
  }

  /** Loads the user info of an authenticated request into `fief.user` (through the user info cache). */
  async loadUser(fief: FiefRequestContext, policy: FiefRoutePolicy | undefined): Promise<void> {
    try {
      fief.user = await this.serviceOf(fief.tenant).getUserInfo(fief.accessTokenInfo);
    } catch (error) {
      throw new FiefAuthRefusal(this.toFailure(error, policy));
    }
  }

  /** What an error of any step means for the caller (401 / 403 / 400 / 503). */
  toFailure(error: unknown, policy: FiefRoutePolicy | undefined): FiefAuthFailure {
    if (error instanceof FiefAuthRefusal) return error.failure;
    return toAuthFailure(error, policy?.requirements?.requiredScope, this.fief.sharedOptions.retryAfter);
  }

  /**
   * Where every refusal passes on its way to an answer: the throttled 503 log (and the place for
   * metrics). Entry points call it once per refusal, then answer with {@link headers} and {@link exception}.
   */
  record(failure: FiefAuthFailure): void {
    recordRefusal(failure.status, failure.error);
    if (failure.status === 503) this.unavailable.record(failure);
  }

  /** The headers of a refusal: `WWW-Authenticate` (400 / 401 / 403) or `Retry-After` (503). */
  headers(failure: FiefAuthFailure): [name: string, value: string][] {
    return refusalHeaders(this.fief.sharedOptions.realm, failure);
  }

  /** The exception of a refusal: `exceptionFactory`'s when given, else Nest's own. */
  exception(failure: FiefAuthFailure, context: ExecutionContext | undefined): Error {
    return this.fief.sharedOptions.exceptionFactory?.(failure, context) ?? createFiefAuthException(failure);
  }

  /** The refusal for a call the entry point cannot read (logged once per context type): 401, never 503. */
  unreadableCall(type: string, hint: string): FiefAuthFailure {
    if (!this.unreadable.has(type)) {
      this.unreadable.add(type);
      this.logger.error(`Cannot authenticate "${type}" calls: ${hint} They are refused with 401.`);
    }
    return { status: 401, description: 'This call cannot be authenticated.' };
  }

  private withTenant(attempt: FiefAuthAttempt, named: unknown): Verdict | Promise<Verdict> {
    const tenants = this.fief.tenants;
    const tenant = tenants?.resolveTenant && tenants.has(named) ? named : undefined;
    try {
      const extracted = this.extract(attempt);
      if (isPromise(extracted)) {
        return extracted.then((token) => this.afterExtract(attempt, named, tenant, credentialOrNone(token)), (error: unknown) => this.reject(error, attempt.policy));
      }
      return this.afterExtract(attempt, named, tenant, credentialOrNone(extracted));
    } catch (error) {
      return this.reject(error, attempt.policy);
    }
  }

  private extract(attempt: FiefAuthAttempt): unknown {
    if (attempt.extract) return attempt.extract();
    const extractor = this.fief.sharedOptions.tokenExtractors[attempt.type];
    if (!extractor) {
      throw new FiefAuthRefusal(this.unreadableCall(attempt.type, `no token extractor is configured for them (tokenExtractors.${attempt.type}).`));
    }
    return extractor.extract(attempt.request, attempt.context);
  }

  private afterExtract(
    attempt: FiefAuthAttempt,
    named: unknown,
    tenant: string | undefined,
    token: string | undefined,
    sources = true,
  ): Verdict | Promise<Verdict> {
    const tenants = this.fief.tenants;
    const source = sources ? this.sourceFor(attempt, tenant) : undefined;
    if (source) return this.withSession(attempt, source, tenant, token);
    if (token === undefined) {
      if (attempt.policy?.isOptional) return null;
      return this.reject(new FiefAuthRefusal(this.withScope(MISSING_CREDENTIAL, attempt.policy)), attempt.policy);
    }
    if (tenants?.resolveTenant && tenant === undefined) return this.reject(new FiefAuthRefusal(NO_TENANT), attempt.policy);
    const fromCache = !attempt.policy?.needsUser;
    let chosen = tenant;
    if (tenants) {
      // A token some tenant has verified is that tenant's: its cache answers before the `iss` is decoded.
      const hit = fromCache ? tenants.cachedVerification(token, tenant) : undefined;
      if (hit) return this.grantCached(attempt, token, hit[1], hit[0]);
      const choice = chooseTenant(tenants, typeof named === 'string' ? named : undefined, token);
      if (typeof choice !== 'string') return this.reject(new FiefAuthRefusal(choice), attempt.policy);
      chosen = choice;
    } else if (fromCache) {
      const cached = this.fief.getVerifiedAccessToken(token);
      if (cached !== undefined) return this.grantCached(attempt, token, cached, undefined);
    }
    return this.verify(attempt, token, chosen);
  }

  /** A verified-token cache hit: the route's requirements, then the request context, synchronously. */
  private grantCached(attempt: FiefAuthAttempt, token: string, info: FiefAccessTokenInfo, tenant: string | undefined): Verdict | Promise<Verdict> {
    try {
      this.check(info, attempt.policy);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.attach(attempt.request, { accessToken: token, accessTokenInfo: info, user: undefined }, tenant);
  }

  private async verify(attempt: FiefAuthAttempt, accessToken: string, tenant: string | undefined): Promise<Verdict> {
    let accessTokenInfo: FiefAccessTokenInfo;
    try {
      accessTokenInfo = await this.serviceOf(tenant).verifyAccessToken(accessToken);
    } catch (error) {
      throw new FiefAuthRefusal(this.toFailure(error, attempt.policy));
    }
    this.check(accessTokenInfo, attempt.policy);
    const fief: FiefRequestContext = { accessToken, accessTokenInfo, user: undefined };
    if (tenant !== undefined) fief.tenant = tenant;
    if (attempt.policy?.needsUser) await this.loadUser(fief, attempt.policy);
    return this.attach(attempt.request, fief, tenant);
  }

  /**
   * The session cookie (or another source) is there. Alone, its token is the credential; beside a
   * bearer token, both are verified and must be the same user's (the header then wins), else 400.
   */
  private async withSession(
    attempt: FiefAuthAttempt,
    source: FiefCredentialSource,
    tenant: string | undefined,
    bearer: string | undefined,
  ): Promise<Verdict> {
    let sessionToken: string | undefined;
    try {
      sessionToken = await source.read(attempt.request, attempt.response, tenant, attempt.context);
    } catch (error) {
      throw new FiefAuthRefusal(this.toFailure(error, attempt.policy));
    }
    if (bearer === undefined) {
      if (sessionToken === undefined) return this.afterExtract(attempt, tenant, tenant, undefined, false);
      return this.verify(attempt, sessionToken, tenant);
    }
    const verdict = await this.afterExtract(attempt, tenant, tenant, bearer, false);
    if (sessionToken === undefined || sessionToken === bearer || !verdict) return verdict;
    let session: FiefAccessTokenInfo | undefined;
    try {
      session = await this.serviceOf(tenant).verifyAccessToken(sessionToken);
    } catch (error) {
      // A session that no longer verifies is no credential; Fief being down is still a 503.
      if (this.toFailure(error, undefined).status === 503) throw new FiefAuthRefusal(this.toFailure(error, attempt.policy));
    }
    if (session && session.id !== verdict.accessTokenInfo.id) {
      this.detach(attempt.request);
      throw new FiefAuthRefusal(this.toFailure(new FiefInvalidRequestError(CONFLICT, 400), attempt.policy));
    }
    return verdict;
  }

  private sourceFor(attempt: FiefAuthAttempt, tenant: string | undefined): FiefCredentialSource | undefined {
    if (this.sources.length === 0) return undefined;
    // With tenants, a session belongs to the tenant the request resolved to; without one, none is read.
    if (this.fief.tenants && tenant === undefined) return undefined;
    for (const source of this.sources) {
      if (source.types.includes(attempt.type) && source.isPresent(attempt.request, tenant)) return source;
    }
    return undefined;
  }

  private serviceOf(tenant: string | undefined): FiefService {
    return tenant === undefined ? this.fief : this.fief.forTenant(tenant);
  }

  private attach(request: Record<string, any>, fief: FiefRequestContext, tenant: string | undefined): FiefRequestContext {
    if (tenant !== undefined) fief.tenant = tenant;
    request.fief = fief;
    request.user = fief.accessTokenInfo;
    return fief;
  }

  private detach(request: Record<string, any>): void {
    if (request.fief !== undefined && request.user === request.fief.accessTokenInfo) delete request.user;
    delete request.fief;
  }

  private reject(error: unknown, policy: FiefRoutePolicy | undefined): Promise<never> {
    return Promise.reject(error instanceof FiefAuthRefusal ? error : new FiefAuthRefusal(this.toFailure(error, policy)));
  }

  private withScope(failure: FiefAuthFailure, policy: FiefRoutePolicy | undefined): FiefAuthFailure {
    // RFC 6750 §3: a challenge may tell the client which scope to ask for.
    const scope = policy?.requirements?.requiredScope;
    return scope ? { ...failure, scope } : failure;
  }
}
