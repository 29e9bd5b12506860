import type { Reflector } from '@nestjs/core';
import { FiefACR, type FiefValidateParameters } from '../client/types.js';
import {
  FIEF_ACR_KEY,
  FIEF_CURRENT_USER_KEY,
  FIEF_OPTIONAL_KEY,
  FIEF_PERMISSIONS_KEY,
  FIEF_PUBLIC_KEY,
  FIEF_SCOPES_KEY,
} from '../fief.constants.js';

/** What a route asks of its callers: its decorators on the handler and the class, combined. */
export interface FiefRoutePolicy {
  /** `@Public()` on the handler or the class. */
  readonly isPublic: boolean;
  /** `@OptionalAuth()` on the handler or the class. */
  readonly isOptional: boolean;
  /** A parameter uses `@CurrentUser()`: load the user info before the handler. */
  readonly needsUser: boolean;
  /** Union of scopes, union of permissions, highest ACR; `undefined` when nothing is required. */
  readonly requirements: Readonly<FiefValidateParameters> | undefined;
}

type Target = Function;

function union(a: string[] | undefined, b: string[] | undefined): string[] | undefined {
  if (!a?.length) return b?.length ? b : undefined;
  if (!b?.length) return a;
  return [...new Set([...b, ...a])];
}

/**
 * Reads and combines the decorators of one route. Handler and class requirements add up (both sets
 * are required); `@Public()` / `@OptionalAuth()` on either apply.
 */
export function resolveRoutePolicy(reflector: Reflector, handler: Target, controller: Target): FiefRoutePolicy {
  const targets = [handler, controller];
  const scope = union(reflector.get<string[]>(FIEF_SCOPES_KEY, handler), reflector.get<string[]>(FIEF_SCOPES_KEY, controller));
  const permissions = union(
    reflector.get<string[]>(FIEF_PERMISSIONS_KEY, handler),
    reflector.get<string[]>(FIEF_PERMISSIONS_KEY, controller),
  );
  const acrs = [reflector.get<FiefACR>(FIEF_ACR_KEY, handler), reflector.get<FiefACR>(FIEF_ACR_KEY, controller)];
  const acr = acrs.includes(FiefACR.LEVEL_ONE) ? FiefACR.LEVEL_ONE : acrs.includes(FiefACR.LEVEL_ZERO) ? FiefACR.LEVEL_ZERO : undefined;
  const requirements: FiefValidateParameters = {};
  if (scope) requirements.requiredScope = scope;
  if (permissions) requirements.requiredPermissions = permissions;
  if (acr) requirements.requiredAcr = acr;
  return Object.freeze({
    isPublic: reflector.getAllAndOverride<boolean>(FIEF_PUBLIC_KEY, targets) === true,
    isOptional: reflector.getAllAndOverride<boolean>(FIEF_OPTIONAL_KEY, targets) === true,
    needsUser: reflector.get<boolean>(FIEF_CURRENT_USER_KEY, handler) === true,
    requirements: Object.keys(requirements).length ? Object.freeze(requirements) : undefined,
  });
}

/**
 * Route policies memoized per handler and class: metadata is fixed once the app is built, and the
 * guard's hot path should not walk it again. Keyed by both, since a handler may be inherited by
 * several controllers with different class decorators.
 */
export class FiefRoutePolicies {
  private readonly byHandler = new WeakMap<Target, WeakMap<Target, FiefRoutePolicy>>();

  constructor(private readonly reflector: Reflector) {}

  /** The policy of the route `handler` of `controller`. */
  get(handler: Target, controller: Target): FiefRoutePolicy {
    let byController = this.byHandler.get(handler);
    if (!byController) this.byHandler.set(handler, (byController = new WeakMap()));
    let policy = byController.get(controller);
    if (!policy) byController.set(controller, (policy = resolveRoutePolicy(this.reflector, handler, controller)));
    return policy;
  }
}
