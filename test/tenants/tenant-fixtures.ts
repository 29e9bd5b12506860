/** Shared by the cross-tenant suites: one dev server with two tenants, routes that say who ran. */
import { Controller, Get, UseGuards } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import {
  AccessTokenInfo,
  CurrentUser,
  FiefAuthGuard,
  FiefTenant,
  Permissions,
  type FiefAccessTokenInfo,
  type FiefTenantOptions,
  type FiefUserInfo,
} from '../../lib/index.js';
import type { FiefDevServer, FiefDevTenant } from '../../lib/testing/index.js';

export const TENANTS = ['acme', 'globex'] as const;
export type TenantName = (typeof TENANTS)[number];

/** Every handler run, by route: a refused request must leave this untouched. */
export const ran: string[] = [];

@Controller('whoami')
@UseGuards(FiefAuthGuard)
export class WhoamiController {
  @Get()
  who(@FiefTenant() tenant: string, @AccessTokenInfo() info: FiefAccessTokenInfo) {
    ran.push('whoami');
    return { tenant, id: info.id };
  }

  @Get('me')
  me(@FiefTenant() tenant: string, @CurrentUser() user: FiefUserInfo) {
    ran.push('me');
    return { tenant, email: user.email };
  }

  @Get('create')
  @Permissions('castles:create')
  create(@FiefTenant() tenant: string) {
    ran.push('create');
    return { tenant };
  }
}

@Controller('passport')
@UseGuards(AuthGuard('fief'))
export class PassportWhoamiController {
  @Get()
  who(@FiefTenant() tenant: string, @AccessTokenInfo() info: FiefAccessTokenInfo) {
    ran.push('passport');
    return { tenant, id: info.id };
  }
}

/** The `tenants` option for the dev server's acme and globex tenants. */
export function tenantsOption(dev: FiefDevServer, extra: Partial<Record<TenantName, Partial<FiefTenantOptions>>> = {}) {
  const tenant = (name: TenantName): FiefTenantOptions => {
    const { clientId, clientSecret } = dev.tenant(name).clients[0];
    return { baseURL: dev.tenant(name).baseURL, clientId, clientSecret, ...extra[name] };
  };
  return { acme: tenant('acme'), globex: tenant('globex') };
}

/** Sum of the requests a tenant of the dev server has served. */
export function requestsTo(tenant: FiefDevTenant): number {
  return Object.values(tenant.requestCounts).reduce((sum, count) => sum + count, 0);
}
