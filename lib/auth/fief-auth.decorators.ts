import { createParamDecorator, SetMetadata, type ExecutionContext, type PipeTransform, type Type } from '@nestjs/common';
import { FiefACR, type FiefAccessTokenInfo, type FiefUserInfo } from '../client/types.js';
import {
  FIEF_ACR_KEY,
  FIEF_CURRENT_USER_KEY,
  FIEF_OPTIONAL_KEY,
  FIEF_PERMISSIONS_KEY,
  FIEF_PUBLIC_KEY,
  FIEF_SCOPES_KEY,
} from '../fief.constants.js';
import { getTransportRequest } from './execution-context.js';

// RFC 6749 §3.3 scope-token; permissions follow the same shape in Fief (`castles:read`).
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

function checkTokens(decorator: string, values: string[]): string[] {
  if (values.length === 0) throw new TypeError(`@${decorator}() needs at least one value.`);
  for (const value of values) {
    if (typeof value !== 'string' || !SCOPE_TOKEN.test(value)) {
      throw new TypeError(`@${decorator}(): ${JSON.stringify(value)} is not a valid value (no spaces, quotes or backslashes).`);
    }
  }
  return [...new Set(values)];
}

/**
 * The route needs no credential, even under a global `FiefAuthGuard`. On a class, every route of it.
 *
 * @example
 * @Get('health') @Public() health() { return { ok: true }; }
 */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(FIEF_PUBLIC_KEY, true);

/**
 * Anonymous callers get through (with no `request.fief`); a credential that is sent is still checked
 * and refused when bad. Requirements (`@Scopes`...) apply only to callers that sent one.
 *
 * @example
 * @Get('castles') @OptionalAuth() list(@AccessTokenInfo() info?: FiefAccessTokenInfo) { ... }
 */
export const OptionalAuth = (): MethodDecorator & ClassDecorator => SetMetadata(FIEF_OPTIONAL_KEY, true);

/**
 * Every listed scope must be granted to the token. On the class and the handler, both sets apply.
 *
 * @example
 * @Get() @Scopes('openid') list() {}
 */
export const Scopes = (...scopes: string[]): MethodDecorator & ClassDecorator =>
  SetMetadata(FIEF_SCOPES_KEY, checkTokens('Scopes', scopes));

/**
 * Every listed Fief permission must be granted (directly or through a role). On the class and the
 * handler, both sets apply.
 *
 * @example
 * @Post() @Permissions('castles:create') create() {}
 */
export const Permissions = (...permissions: string[]): MethodDecorator & ClassDecorator =>
  SetMetadata(FIEF_PERMISSIONS_KEY, checkTokens('Permissions', permissions));

/**
 * Minimum authentication level: `FiefACR.LEVEL_ONE` (`'1'`) asks for a fresh login. On the class and
 * the handler, the higher one applies.
 *
 * @example
 * @Patch('password') @Acr(FiefACR.LEVEL_ONE) changePassword() {}
 */
export const Acr = (level: FiefACR | '0' | '1'): MethodDecorator & ClassDecorator => {
  if (level !== FiefACR.LEVEL_ZERO && level !== FiefACR.LEVEL_ONE) {
    throw new TypeError(`@Acr(): ${JSON.stringify(level)} is not a Fief ACR ('0' or '1').`);
  }
  return SetMetadata(FIEF_ACR_KEY, level);
};

/**
 * The type of our parameter decorators, spelled out: the type `createParamDecorator` infers names
 * `ParameterDecoratorOptions`, which `@nestjs/common` 11 does not export (TS2694 in Nest 11 apps).
 */
export type FiefParamDecorator = (...pipes: (Type<PipeTransform> | PipeTransform)[]) => ParameterDecorator;

// The guard loads the user before the handler only when asked: param decorators cannot await.
const markNeedsUser: ParameterDecorator = (target, key) => {
  if (key === undefined) return;
  const handler = (target as Record<string | symbol, unknown>)[key];
  if (typeof handler === 'function') Reflect.defineMetadata(FIEF_CURRENT_USER_KEY, true, handler);
};

/**
 * The caller's `FiefUserInfo`, from Fief's userinfo endpoint through the user info cache (the guard
 * loads it before the handler runs, and answers 503 when Fief cannot be reached). `undefined` for
 * anonymous callers of `@OptionalAuth()` routes.
 *
 * @example
 * @Get('me') me(@CurrentUser() user: FiefUserInfo) { return user.email; }
 */
export const CurrentUser: FiefParamDecorator = createParamDecorator<undefined, FiefUserInfo | undefined>(
  (_data, context: ExecutionContext) => {
    const fief = getTransportRequest(context)?.fief;
    if (fief && !fief.user) {
      // Reached only when the guard did not see the handler's mark: refuse rather than run without the user.
      throw new Error('@CurrentUser(): the user info was not loaded; guard the route with FiefAuthGuard or AuthGuard("fief").');
    }
    return fief?.user;
  },
  [markNeedsUser],
);

/**
 * What the caller's verified access token grants (`{ id, scope, acr, permissions, access_token, exp }`),
 * without any network call. `undefined` for anonymous callers of `@OptionalAuth()` routes.
 *
 * @example
 * @Get() list(@AccessTokenInfo() token: FiefAccessTokenInfo) { return token.permissions; }
 */
export const AccessTokenInfo: FiefParamDecorator = createParamDecorator<undefined, FiefAccessTokenInfo | undefined>(
  (_data, context: ExecutionContext) => getTransportRequest(context)?.fief?.accessTokenInfo,
);

/**
 * The caller's raw access token, e.g. to call another API on their behalf.
 *
 * @example
 * @Get() proxy(@AccessToken() token: string) { return fetch(url, { headers: { authorization: `Bearer ${token}` } }); }
 */
export const AccessToken: FiefParamDecorator = createParamDecorator<undefined, string | undefined>(
  (_data, context: ExecutionContext) => getTransportRequest(context)?.fief?.accessToken,
);

/**
 * The name of the tenant that verified the caller's credential, with several tenants (`tenants`
 * option); `undefined` with one tenant and for anonymous callers.
 *
 * @example
 * @Get('castles') list(@FiefTenant() tenant: string) { return this.castles.of(tenant); }
 */
export const FiefTenant: FiefParamDecorator = createParamDecorator<undefined, string | undefined>(
  (_data, context: ExecutionContext) => getTransportRequest(context)?.fief?.tenant,
);
