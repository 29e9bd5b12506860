import { Inject, Injectable, NotFoundException, Optional } from '@nestjs/common';
import { FiefError } from '../client/errors.js';
import type { FiefModuleConfig } from '../fief-module-options.interface.js';
import { FiefService } from '../fief.service.js';
import type { FiefStore } from '../store/fief-store.interface.js';
import { FIEF_STORE } from '../store/fief-store.providers.js';
import { FIEF_LOGIN_CLIENT, FIEF_LOGIN_OPTIONS } from './login.constants.js';
import type { FiefLoginClient } from './login-client.interface.js';
import type { FiefLoginOptions, ResolvedFiefLoginOptions } from './login-options.interface.js';
import { loginClientCredentials, resolveFiefLoginOptions } from './login-options.js';
import { FiefLoginTransactions } from './login-transaction.service.js';
import { FiefSessionService } from './session.service.js';

/** What one tenant's login flow runs with: its options, its Fief, its session cookie and transactions. */
export interface FiefLoginScope {
  /** The tenant's name; absent with one tenant. */
  readonly tenant?: string;
  readonly options: ResolvedFiefLoginOptions;
  readonly client: FiefLoginClient;
  readonly sessions: FiefSessionService;
  readonly transactions: FiefLoginTransactions;
}

/**
 * The login flow per tenant. With one tenant it is the module's own options and services; with
 * several, each tenant's are built on first use from the shared `login` options with the tenant's
 * merged over them, and a request's tenant is the one `resolveTenant` names (404 when none).
 */
@Injectable()
export class FiefLoginTenants {
  private readonly scopes = new Map<string, FiefLoginScope>();

  constructor(
    @Inject(FIEF_LOGIN_OPTIONS) private readonly options: ResolvedFiefLoginOptions | null,
    @Inject(FIEF_LOGIN_CLIENT) private readonly client: FiefLoginClient,
    private readonly sessions: FiefSessionService,
    private readonly transactions: FiefLoginTransactions,
    @Optional() private readonly fief?: FiefService,
    @Optional() @Inject(FIEF_STORE) private readonly store?: FiefStore,
  ) {
    // Every tenant's login options are checked at start-up, though built on first use.
    if (options) for (const name of fief?.tenants?.names ?? []) this.loginOptions(name);
  }

  /** The login scope of a request. @throws NotFoundException when the request belongs to no tenant. */
  async forRequest(request: unknown): Promise<FiefLoginScope> {
    const tenants = this.fief?.tenants;
    if (!tenants) return { options: this.options!, client: this.client, sessions: this.sessions, transactions: this.transactions };
    const name = await tenants.resolveTenant!(request, undefined);
    if (!tenants.has(name)) throw new NotFoundException('This request belongs to no tenant of this app.');
    return this.forTenant(name);
  }

  /** The session service of a tenant (the module's own with one tenant). */
  sessionsOf(tenant: string | undefined): FiefSessionService {
    return tenant === undefined || !this.fief?.tenants ? this.sessions : this.forTenant(tenant).sessions;
  }

  private forTenant(name: string): FiefLoginScope {
    let scope = this.scopes.get(name);
    if (!scope) {
      const options = this.loginOptions(name);
      const client = this.fief!.forTenant(name);
      scope = {
        tenant: name,
        options,
        client,
        sessions: new FiefSessionService(options, client, this.store, name),
        transactions: new FiefLoginTransactions(options, client, this.store),
      };
      this.scopes.set(name, scope);
    }
    return scope;
  }

  private loginOptions(name: string): ResolvedFiefLoginOptions {
    const login = this.fief!.tenants!.options(name).login as FiefLoginOptions;
    try {
      // The controller is mounted once: every tenant's routes live under the module's prefix.
      return resolveFiefLoginOptions({ ...login, path: this.options?.path ?? login.path }, loginClientCredentials(this.fief!.tenants!.options(name)));
    } catch (error) {
      throw new FiefError(`Invalid login options of tenant ${name}: ${(error as Error).message}`, { cause: error });
    }
  }
}

/**
 * With several tenants and the login flow on (`login` shared or on any tenant), the module-wide login
 * options: the first tenant's. `undefined` otherwise.
 */
export function tenantsLogin(options: FiefModuleConfig | undefined): Partial<FiefLoginOptions> | undefined {
  if (!options || !('tenants' in options) || !options.tenants) return undefined;
  const tenants = Object.values(options.tenants);
  if (!options.login && !tenants.some((tenant) => tenant?.login)) return undefined;
  return { ...options.login, ...tenants[0]?.login };
}
