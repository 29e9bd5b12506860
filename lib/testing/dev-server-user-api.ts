import type { IncomingMessage, ServerResponse } from 'node:http';
import { jwtVerify, type JWTPayload } from 'jose';
import type { SigningKey } from './dev-server-keys.js';
import { readBody, sendJson } from './dev-server-http.js';
import type { DevUsers } from './dev-server-users.js';
import type { FiefDevUser } from './dev-server-types.js';

/** What the user API needs of its tenant. */
export interface DevUserApiContext {
  issuer: string;
  keys: readonly SigningKey[];
  clientIds: string[];
  users: DevUsers;
  /** Pending email changes by user id: the code "sent" and the new address. */
  verificationCodes: Map<string, { code: string; email: string }>;
  userClaims(user: FiefDevUser): Record<string, unknown>;
}

/** Fief's user API: the bearer must be a valid access token of this tenant. */
export async function serveUserApi(tenant: DevUserApiContext, pathname: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const user = await authenticate(tenant, req);
  if (!user) {
    res.setHeader('www-authenticate', 'Bearer error="invalid_token"');
    return sendJson(res, 401, { detail: 'Unauthorized' });
  }
  const { payload, found } = user;
  if (pathname === '/api/userinfo') return sendJson(res, 200, tenant.userClaims(found));
  const method = req.method ?? 'GET';
  const body = (await readBody(req)) || '{}';
  let data: Record<string, unknown>;
  try {
    data = JSON.parse(body);
  } catch {
    return sendJson(res, 422, { detail: 'Body is not JSON' });
  }
  const changed = () => {
    tenant.users.touched(found, 'user.updated');
    sendJson(res, 200, tenant.userClaims(found));
  };
  const needsFreshLogin = pathname !== '/api/profile';
  if (needsFreshLogin && payload.acr !== '1') return sendJson(res, 403, { detail: 'ACR too low' });
  if (pathname === '/api/profile' && method === 'PATCH') {
    if (typeof data.email === 'string') found.email = data.email;
    if (data.fields && typeof data.fields === 'object') found.fields = { ...found.fields, ...(data.fields as object) };
    return changed();
  }
  if (pathname === '/api/password' && method === 'PATCH') {
    if (typeof data.password !== 'string' || data.password.length < 8) {
      return sendJson(res, 400, { detail: 'PASSWORD_INVALID' });
    }
    return changed();
  }
  if (pathname === '/api/email/change' && method === 'PATCH') {
    if (typeof data.email !== 'string' || !data.email.includes('@')) return sendJson(res, 422, { detail: 'Invalid email' });
    const code = String(Math.floor(100000 + Math.random() * 900000));
    tenant.verificationCodes.set(found.id!, { code, email: data.email });
    return sendJson(res, 202, tenant.userClaims(found));
  }
  if (pathname === '/api/email/verify' && method === 'POST') {
    const pending = tenant.verificationCodes.get(found.id!);
    if (!pending || pending.code !== data.code) return sendJson(res, 400, { detail: 'INVALID_CODE' });
    tenant.verificationCodes.delete(found.id!);
    found.email = pending.email;
    found.emailVerified = true;
    return changed();
  }
  return sendJson(res, 405, { detail: 'Method Not Allowed' });
}

async function authenticate(tenant: DevUserApiContext, req: IncomingMessage): Promise<{ payload: JWTPayload; found: FiefDevUser } | undefined> {
  const match = /^Bearer ([\w.~+/-]+=*)$/i.exec(req.headers.authorization ?? '');
  if (!match) return undefined;
  try {
    // Verifies against the keys in hand: no JWK import on every user API call under load.
    const publicKeyOf = (kid: string | undefined) => {
      const key = tenant.keys.find((candidate) => candidate.kid === kid);
      if (!key) throw new Error(`No signing key ${kid}`);
      return key.publicKey;
    };
    const { payload } = await jwtVerify(match[1], (header) => publicKeyOf(header.kid), {
      algorithms: ['RS256'],
      issuer: tenant.issuer,
      audience: tenant.clientIds,
      requiredClaims: ['exp', 'sub', 'scope'],
    });
    const found = tenant.users.find(payload.sub!);
    return found?.isActive ? { payload, found } : undefined;
  } catch {
    return undefined;
  }
}
