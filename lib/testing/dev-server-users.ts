import { createHash, randomUUID } from 'node:crypto';
import type { FiefDevUser } from './dev-server-types.js';

/** What a user change tells the tenant's webhooks, before it is shaped as Fief's payload. */
export type DevUserChange =
  | { type: 'user.created' | 'user.updated' | 'user.deleted'; user: FiefDevUser }
  | { type: 'user_permission.created' | 'user_permission.deleted'; user: FiefDevUser; codename: string };

/** The fields of a user that {@link DevUsers.update} may change (the id never changes). */
export type FiefDevUserUpdate = Partial<Omit<FiefDevUser, 'id'>>;

/**
 * A tenant's users: the live list the tests see, and every change to it reported once to `onChange`,
 * so that webhooks are sent for exactly what changed.
 */
export class DevUsers {
  readonly list: FiefDevUser[] = [];
  private readonly times = new Map<string, { createdAt: string; updatedAt: string }>();

  constructor(
    private readonly tenantId: string,
    private readonly onChange: (change: DevUserChange) => void,
  ) {}

  find(emailOrId: string): FiefDevUser | undefined {
    return this.list.find((user) => user.id === emailOrId || user.email === emailOrId);
  }

  /** The user, or a clear error naming the one asked for. */
  get(emailOrId?: string): FiefDevUser {
    const user = emailOrId ? this.find(emailOrId) : this.list[0];
    if (!user) throw new Error(`FiefDevServer has no user ${emailOrId ?? ''}`.trim());
    return user;
  }

  add(user: FiefDevUser, options: { silent?: boolean } = {}): FiefDevUser {
    checkEmail(user?.email);
    for (const key of ['email', 'id'] as const) {
      if (user[key] !== undefined && this.find(user[key])) {
        throw new Error(`FiefDevServer: there is already a user with ${key} ${user[key]}`);
      }
    }
    const complete: FiefDevUser = {
      emailVerified: true,
      isActive: true,
      tenantId: this.tenantId,
      fields: {},
      permissions: [],
      ...structuredClone(user),
      id: user.id ?? randomUUID(),
    };
    this.list.push(complete);
    const stamp = new Date().toISOString();
    this.times.set(complete.id!, { createdAt: stamp, updatedAt: stamp });
    if (!options.silent) this.onChange({ type: 'user.created', user: complete });
    return complete;
  }

  /** Applies `update` in place (fields are merged, as Fief's profile update merges them). */
  update(emailOrId: string, update: FiefDevUserUpdate): FiefDevUser {
    const user = this.get(emailOrId);
    if ('id' in update && (update as FiefDevUser).id !== user.id) throw new Error('FiefDevServer: a user id never changes');
    if (update.email !== undefined) {
      checkEmail(update.email);
      const other = this.find(update.email);
      if (other && other !== user) throw new Error(`FiefDevServer: there is already a user with email ${update.email}`);
    }
    const { fields, permissions, ...rest } = structuredClone(update);
    Object.assign(user, rest);
    if (fields) user.fields = { ...user.fields, ...fields };
    if (fields || Object.keys(rest).length > 0) this.touched(user, 'user.updated');
    // Fief tells permission changes as user_permission events, one per permission, not as user.updated.
    if (permissions) {
      const wanted = new Set(permissions);
      for (const codename of user.permissions ?? []) if (!wanted.has(codename)) this.revoke(user.id!, codename);
      for (const codename of wanted) this.grant(user.id!, codename);
    }
    return user;
  }

  delete(emailOrId: string): FiefDevUser {
    const user = this.get(emailOrId);
    this.list.splice(this.list.indexOf(user), 1);
    this.onChange({ type: 'user.deleted', user });
    return user;
  }

  /** Grants a permission; true when it was not already granted (Fief sends no event otherwise). */
  grant(emailOrId: string, codename: string): boolean {
    const user = this.get(emailOrId);
    checkCodename(codename);
    if (user.permissions?.includes(codename)) return false;
    user.permissions = [...(user.permissions ?? []), codename];
    this.onChange({ type: 'user_permission.created', user, codename });
    return true;
  }

  /** Revokes a permission; true when it was granted. */
  revoke(emailOrId: string, codename: string): boolean {
    const user = this.get(emailOrId);
    if (!user.permissions?.includes(codename)) return false;
    user.permissions = user.permissions.filter((granted) => granted !== codename);
    this.onChange({ type: 'user_permission.deleted', user, codename });
    return true;
  }

  /** Records a change made through the user API (profile, password, email) and reports it. */
  touched(user: FiefDevUser, type: 'user.updated'): void {
    const times = this.times.get(user.id!);
    if (times) times.updatedAt = new Date().toISOString();
    this.onChange({ type, user });
  }

  timesOf(user: FiefDevUser): { createdAt: string; updatedAt: string } {
    const stamp = new Date().toISOString();
    return this.times.get(user.id!) ?? { createdAt: stamp, updatedAt: stamp };
  }
}

/** A stable UUID-shaped id for a permission codename within a tenant, as Fief gives every permission one. */
export function permissionId(tenantId: string, codename: string): string {
  const hex = createHash('sha256').update(`${tenantId}:${codename}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function checkEmail(email: unknown) {
  if (typeof email !== 'string' || !email.includes('@')) {
    throw new Error(`FiefDevServer: a user needs an email address, got ${JSON.stringify(email)}`);
  }
}

function checkCodename(codename: unknown) {
  if (typeof codename !== 'string' || codename === '') throw new Error('FiefDevServer: a permission codename is a non-empty string');
}
