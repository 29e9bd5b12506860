/**
 * The `data` of the webhook events the dev server sends, shaped as Fief's schemas
 * (`schemas/user.py` UserRead, `schemas/user_permission.py` UserPermission).
 */
import { permissionId, type DevUserChange } from './dev-server-users.js';
import type { FiefDevUser } from './dev-server-types.js';

/** The tenant as Fief embeds it in a user (TenantEmbedded). */
export interface DevTenantInfo {
  id: string;
  name: string;
  slug: string;
  default: boolean;
  createdAt: string;
}

function tenantEmbedded(tenant: DevTenantInfo) {
  return {
    id: tenant.id,
    created_at: tenant.createdAt,
    updated_at: tenant.createdAt,
    name: tenant.name,
    default: tenant.default,
    slug: tenant.slug,
  };
}

/** Fief's UserRead of `user`. */
export function userRead(user: FiefDevUser, tenant: DevTenantInfo, times: { createdAt: string; updatedAt: string }) {
  return {
    id: user.id,
    created_at: times.createdAt,
    updated_at: times.updatedAt,
    email: user.email,
    email_verified: user.emailVerified,
    is_active: user.isActive,
    tenant_id: user.tenantId,
    tenant: tenantEmbedded(tenant),
    fields: user.fields ?? {},
  };
}

/** Fief's UserPermission: a permission granted directly (not from a role). */
export function userPermission(user: FiefDevUser, codename: string, tenant: DevTenantInfo) {
  const now = new Date().toISOString();
  const id = permissionId(tenant.id, codename);
  return {
    created_at: now,
    updated_at: now,
    user_id: user.id,
    permission_id: id,
    from_role_id: null,
    permission: { id, created_at: tenant.createdAt, updated_at: tenant.createdAt, name: codename, codename },
    from_role: null,
  };
}

/** The `data` of the event for `change`. */
export function eventData(change: DevUserChange, tenant: DevTenantInfo, times: { createdAt: string; updatedAt: string }): unknown {
  if (change.type === 'user_permission.created' || change.type === 'user_permission.deleted') {
    return userPermission(change.user, change.codename, tenant);
  }
  return userRead(change.user, tenant, times);
}
