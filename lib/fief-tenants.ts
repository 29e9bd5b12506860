import { FiefError } from './client/errors.js';
import type { ResolvedFiefModuleOptions } from './fief-module-options.interface.js';
import type { ResolvedFiefTenants } from './fief-module-options.js';

/** What the registry needs of a tenant's service (`FiefService`). */
export interface FiefTenantService<Info = unknown> {
  getVerifiedAccessToken(accessToken: string): Info | undefined;
}

/**
 * The tenants of a several-tenants `FiefModule`: their names, the issuer each is chosen by, and
 * each one's `FiefService`, built on first use. Bounded by the configuration: a name or an issuer
 * that is not configured never creates anything.
 */
export class FiefTenantRegistry<Service extends FiefTenantService = FiefTenantService> {
  /** The configured tenant names, in configuration order. */
  readonly names: readonly string[];
  private readonly services = new Map<string, Service>();

  constructor(
    private readonly resolved: ResolvedFiefTenants,
    private readonly create: (name: string, options: ResolvedFiefModuleOptions) => Service,
  ) {
    this.names = Object.freeze([...resolved.tenants.keys()]);
  }

  /** The app's `resolveTenant`, when it gave one. */
  get resolveTenant(): ResolvedFiefTenants['shared']['resolveTenant'] {
    return this.resolved.shared.resolveTenant;
  }

  /** Whether `name` is a configured tenant (own property only: `__proto__` is no tenant). */
  has(name: unknown): name is string {
    return typeof name === 'string' && this.resolved.tenants.has(name);
  }

  /** The tenant whose issuer is exactly `iss`, or `undefined`. */
  byIssuer(iss: unknown): string | undefined {
    return typeof iss === 'string' ? this.resolved.byIssuer.get(iss) : undefined;
  }

  /** The resolved options of a tenant. @throws FiefError for an unknown name. */
  options(name: string): ResolvedFiefModuleOptions {
    const options = this.resolved.tenants.get(name);
    if (!options) throw new FiefError(`No Fief tenant is named ${JSON.stringify(name)} (tenants: ${this.names.join(', ')}).`);
    return options;
  }

  /** The service of a tenant, built on first use. @throws FiefError for an unknown name. */
  get(name: string): Service {
    let service = this.services.get(name);
    if (!service) {
      service = this.create(name, this.options(name));
      this.services.set(name, service);
    }
    return service;
  }

  /**
   * The tenant whose verified-token cache holds `token` (only `named`'s, when given), among the
   * tenants already in use, with what the token grants: a cached token was verified by that tenant's
   * keys, issuer and client, so this is the choice its `iss` would make, without decoding it.
   * `undefined` when none has it.
   */
  cachedVerification<Info>(this: FiefTenantRegistry<FiefTenantService<Info>>, token: string, named: string | undefined): [tenant: string, info: Info] | undefined {
    if (named !== undefined) {
      const info = this.services.get(named)?.getVerifiedAccessToken(token);
      return info === undefined ? undefined : [named, info];
    }
    for (const [name, service] of this.services) {
      const info = service.getVerifiedAccessToken(token);
      if (info !== undefined) return [name, info];
    }
    return undefined;
  }

  /**
   * The service of the one tenant, for the tenant-less methods of `FiefService`.
   * @throws FiefError when there are several tenants: which one is meant cannot be guessed.
   */
  only(): Service {
    if (this.names.length === 1) return this.get(this.names[0]);
    throw new FiefError(
      `This FiefModule has several tenants (${this.names.join(', ')}): call fief.forTenant(name) first, e.g. fief.forTenant('${this.names[0]}').userinfo(token).`,
    );
  }
}
