import type { FiefTenantRegistry } from '../fief-tenants.js';
import type { FiefAuthFailure } from './fief-auth-failure.js';

/** A refusal of the tenant step: 401 `invalid_token`, decided before anything is fetched. */
export const NOT_THIS_TENANT: FiefAuthFailure = Object.freeze({
  status: 401,
  error: 'invalid_token',
  description: 'The access token was not issued for this tenant.',
});

/** A refusal when the request names no configured tenant (`resolveTenant` gave none). */
export const NO_TENANT: FiefAuthFailure = Object.freeze({
  status: 401,
  error: 'invalid_token',
  description: 'This request belongs to no tenant of this app.',
});

/**
 * The `iss` claim of a compact JWS, read without verifying anything: only to choose the tenant
 * whose keys then verify the whole token. `undefined` for anything that is not a JWS with a
 * string `iss` (then no tenant is chosen and nothing is fetched).
 */
export function peekIssuer(token: string): string | undefined {
  const first = token.indexOf('.');
  const second = first === -1 ? -1 : token.indexOf('.', first + 1);
  if (second === -1) return undefined;
  try {
    const payload: unknown = JSON.parse(Buffer.from(token.slice(first + 1, second), 'base64url').toString('utf8'));
    const iss = (payload as { iss?: unknown } | null)?.iss;
    return typeof iss === 'string' ? iss : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The tenant whose keys verify `token`: the one `resolveTenant` named (when the token's `iss` is
 * that tenant's issuer), else the one whose issuer is exactly the token's `iss`.
 *
 * @returns the tenant name, or the refusal (nothing has been fetched either way).
 */
export function chooseTenant(tenants: FiefTenantRegistry, named: string | undefined, token: string): string | FiefAuthFailure {
  const byIssuer = tenants.byIssuer(peekIssuer(token));
  if (tenants.resolveTenant) return byIssuer !== undefined && byIssuer === named ? named : NOT_THIS_TENANT;
  return byIssuer ?? NOT_THIS_TENANT;
}
