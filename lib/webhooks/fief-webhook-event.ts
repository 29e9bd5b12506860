/**
 * What Fief POSTs to a webhook: `{"type": "<object>.<event>", "data": {…}}`. Known types carry
 * typed `data`; a type this version does not know (a newer or older Fief) still arrives, as a
 * {@link FiefWebhookUnknownEvent}, never dropped.
 */

/** A user as Fief sends it in `user.*` events. Extra members a Fief version adds are kept. */
export interface FiefWebhookUser {
  id: string;
  email: string;
  email_verified?: boolean;
  is_active?: boolean;
  tenant_id: string;
  tenant?: { id: string; name?: string; slug?: string; [member: string]: unknown };
  /** The user's custom fields, by slug. */
  fields: Record<string, unknown>;
  created_at: string;
  updated_at: string;
  [member: string]: unknown;
}

/** A permission granted to a user, directly or through a role (`from_role_id`). */
export interface FiefWebhookUserPermission {
  user_id: string;
  permission_id: string;
  from_role_id?: string | null;
  permission?: { id: string; name: string; codename: string; [member: string]: unknown };
  created_at?: string;
  updated_at?: string;
  [member: string]: unknown;
}

/** A role granted to a user. */
export interface FiefWebhookUserRole {
  user_id: string;
  role_id: string;
  role?: { id: string; name: string; [member: string]: unknown };
  created_at?: string;
  updated_at?: string;
  [member: string]: unknown;
}

/** Event types about one user, whose `data` is a {@link FiefWebhookUser}. */
export type FiefWebhookUserEventType =
  | 'user.created'
  | 'user.updated'
  | 'user.deleted'
  | 'user.forgot_password_requested'
  | 'user.password_reset';

/** Event types about other objects of Fief; their `data` is the object, untyped here. */
export type FiefWebhookObjectEventType =
  | `${'client' | 'oauth_provider' | 'permission' | 'role' | 'tenant' | 'user_field'}.${'created' | 'updated' | 'deleted'}`
  | 'email_template.updated';

/** `user.*` events. */
export type FiefWebhookUserEvent = { [T in FiefWebhookUserEventType]: { type: T; data: FiefWebhookUser } }[FiefWebhookUserEventType];

/** `user_permission.created` / `user_permission.deleted`. */
export interface FiefWebhookUserPermissionEvent {
  type: 'user_permission.created' | 'user_permission.deleted';
  data: FiefWebhookUserPermission;
}

/** `user_role.created` / `user_role.deleted`. */
export interface FiefWebhookUserRoleEvent {
  type: 'user_role.created' | 'user_role.deleted';
  data: FiefWebhookUserRole;
}

/** `client.*`, `permission.*`, `role.*`, `tenant.*`, `user_field.*`, `oauth_provider.*`, `email_template.updated`. */
export interface FiefWebhookObjectEvent {
  type: FiefWebhookObjectEventType;
  data: Record<string, unknown>;
}

/** Every event type this version knows. */
export type FiefWebhookKnownEvent = FiefWebhookUserEvent | FiefWebhookUserPermissionEvent | FiefWebhookUserRoleEvent | FiefWebhookObjectEvent;

/** An event whose type this version does not know, passed through as Fief sent it. */
export interface FiefWebhookUnknownEvent {
  type: string & {};
  data: unknown;
}

/**
 * A verified Fief webhook event. Narrow with {@link isKnownFiefWebhookEvent} first, then switch
 * on `type` (TypeScript cannot narrow a union whose last member's `type` is any string).
 *
 * @example
 * handle(@FiefWebhookPayload() event: FiefWebhookEvent) {
 *   if (!isKnownFiefWebhookEvent(event)) return this.logger.warn(`Unhandled Fief event ${event.type}`);
 *   switch (event.type) {
 *     case 'user.created': return this.users.welcome(event.data.email);
 *     case 'user_permission.deleted': return this.users.revoke(event.data.user_id, event.data.permission_id);
 *   }
 * }
 */
export type FiefWebhookEvent = FiefWebhookKnownEvent | FiefWebhookUnknownEvent;

const OBJECTS = ['client', 'oauth_provider', 'permission', 'role', 'tenant', 'user_field'];
const KNOWN_TYPES: ReadonlySet<string> = new Set([
  'user.created',
  'user.updated',
  'user.deleted',
  'user.forgot_password_requested',
  'user.password_reset',
  'user_permission.created',
  'user_permission.deleted',
  'user_role.created',
  'user_role.deleted',
  'email_template.updated',
  ...OBJECTS.flatMap((object) => ['created', 'updated', 'deleted'].map((event) => `${object}.${event}`)),
]);

/** Whether the event's type is one this version knows (its `data` then has the declared shape). */
export function isKnownFiefWebhookEvent(event: FiefWebhookEvent): event is FiefWebhookKnownEvent {
  return KNOWN_TYPES.has(event.type);
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The event in a verified body, or why it is not one. Known types must carry an object `data`
 * with the identifiers handlers rely on; unknown types only need to be `{type, data}`.
 */
export function parseFiefWebhookEvent(body: Uint8Array): FiefWebhookEvent | { invalid: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch {
    return { invalid: 'The webhook body is not JSON.' };
  }
  if (!isObject(parsed) || typeof parsed.type !== 'string' || parsed.type === '' || !('data' in parsed)) {
    return { invalid: 'The webhook body is not a Fief event ({"type": "…", "data": …}).' };
  }
  const { type, data } = parsed;
  if (KNOWN_TYPES.has(type)) {
    const required = type.startsWith('user.')
      ? ['id']
      : type.startsWith('user_permission.')
        ? ['user_id', 'permission_id']
        : type.startsWith('user_role.')
          ? ['user_id', 'role_id']
          : [];
    if (!isObject(data) || required.some((member) => typeof data[member] !== 'string')) {
      return { invalid: `The ${type} event has no valid data${required.length ? ` (${required.join(', ')})` : ''}.` };
    }
  }
  return parsed as FiefWebhookEvent;
}
