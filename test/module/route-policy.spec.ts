import { describe, expect, it } from '@jest/globals';
import { Reflector } from '@nestjs/core';
import { Acr, CurrentUser, OptionalAuth, Permissions, Public, Scopes } from '../../lib/auth/fief-auth.decorators.js';
import { FiefRoutePolicies, resolveRoutePolicy } from '../../lib/auth/route-policy.js';
import { FiefACR } from '../../lib/client/types.js';
import { FIEF_PERMISSIONS_KEY, FIEF_SCOPES_KEY } from '../../lib/fief.constants.js';

const reflector = new Reflector();

@Scopes('openid', 'castles')
@Permissions('castles:read')
@Acr('0')
class CastlesController {
  @Scopes('castles', 'extra')
  @Permissions('castles:create')
  @Acr(FiefACR.LEVEL_ONE)
  create() {}

  @Permissions('castles:read')
  list() {}

  @Public()
  health() {}

  me(@CurrentUser() _user: unknown) {}
}

@OptionalAuth()
class OpenController {
  anything() {}

  @Public()
  health() {}
}

class BareController {
  bare() {}
}

const policy = (handler: Function, controller: Function) => resolveRoutePolicy(reflector, handler, controller);

describe('resolveRoutePolicy', () => {
  it('combines handler and class requirements: union of scopes and permissions, highest ACR', () => {
    expect(policy(CastlesController.prototype.create, CastlesController)).toEqual({
      isPublic: false,
      isOptional: false,
      needsUser: false,
      requirements: {
        requiredScope: expect.arrayContaining(['openid', 'castles', 'extra']),
        requiredPermissions: expect.arrayContaining(['castles:read', 'castles:create']),
        requiredAcr: FiefACR.LEVEL_ONE,
      },
    });
    const { requirements } = policy(CastlesController.prototype.create, CastlesController);
    expect(requirements?.requiredScope).toHaveLength(3);
    expect(requirements?.requiredPermissions).toHaveLength(2);
  });

  it('keeps class requirements on handlers that add nothing, without duplicates', () => {
    expect(policy(CastlesController.prototype.list, CastlesController).requirements).toEqual({
      requiredScope: ['openid', 'castles'],
      requiredPermissions: ['castles:read'],
      requiredAcr: FiefACR.LEVEL_ZERO,
    });
  });

  it('has no requirements for undecorated routes', () => {
    expect(policy(BareController.prototype.bare, BareController)).toEqual({
      isPublic: false,
      isOptional: false,
      needsUser: false,
      requirements: undefined,
    });
  });

  it('reads @Public and @OptionalAuth from the handler or the class', () => {
    expect(policy(CastlesController.prototype.health, CastlesController).isPublic).toBe(true);
    expect(policy(OpenController.prototype.anything, OpenController)).toMatchObject({ isOptional: true, isPublic: false });
    expect(policy(OpenController.prototype.health, OpenController)).toMatchObject({ isOptional: true, isPublic: true });
  });

  it('marks handlers whose parameters use @CurrentUser', () => {
    expect(policy(CastlesController.prototype.me, CastlesController).needsUser).toBe(true);
    expect(policy(CastlesController.prototype.list, CastlesController).needsUser).toBe(false);
  });

  it('stores the metadata under the fixed public keys', () => {
    expect(reflector.get(FIEF_SCOPES_KEY, CastlesController)).toEqual(['openid', 'castles']);
    expect(reflector.get(FIEF_PERMISSIONS_KEY, CastlesController.prototype.create)).toEqual(['castles:create']);
  });
});

describe('FiefRoutePolicies', () => {
  it('memoizes per handler and class pair', () => {
    const policies = new FiefRoutePolicies(reflector);
    const first = policies.get(CastlesController.prototype.list, CastlesController);
    expect(policies.get(CastlesController.prototype.list, CastlesController)).toBe(first);
    // The same handler under another class is another route.
    const other = policies.get(CastlesController.prototype.list, BareController);
    expect(other).not.toBe(first);
    expect(other.requirements).toEqual({ requiredPermissions: ['castles:read'] });
  });
});

describe('decorator arguments', () => {
  it('refuses empty lists and values a challenge cannot carry', () => {
    expect(() => Scopes()).toThrow('@Scopes() needs at least one value.');
    expect(() => Permissions('castles read')).toThrow(/not a valid value/);
    expect(() => Scopes('a"b')).toThrow(/not a valid value/);
    expect(() => Acr('2' as never)).toThrow(/not a Fief ACR/);
  });

  it('dedupes repeated values', () => {
    class Dup {
      @Scopes('a', 'a', 'b')
      route() {}
    }
    expect(reflector.get(FIEF_SCOPES_KEY, Dup.prototype.route)).toEqual(['a', 'b']);
  });
});
