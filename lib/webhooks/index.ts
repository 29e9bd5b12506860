/** Fief webhooks: verified deliveries (signature, freshness, single delivery) and their typed events. */
export {
  isKnownFiefWebhookEvent,
  type FiefWebhookEvent,
  type FiefWebhookKnownEvent,
  type FiefWebhookObjectEvent,
  type FiefWebhookObjectEventType,
  type FiefWebhookUnknownEvent,
  type FiefWebhookUser,
  type FiefWebhookUserEvent,
  type FiefWebhookUserEventType,
  type FiefWebhookUserPermission,
  type FiefWebhookUserPermissionEvent,
  type FiefWebhookUserRole,
  type FiefWebhookUserRoleEvent,
} from './fief-webhook-event.js';
export {
  createFiefWebhookOptionsProvider,
  FIEF_WEBHOOK_OPTIONS,
  resolveFiefWebhookOptions,
  type FiefWebhookOptions,
  type ResolvedFiefWebhookOptions,
} from './fief-webhook-options.js';
export { FiefWebhookPayload } from './fief-webhook-payload.decorator.js';
export { signFiefWebhook } from './fief-webhook-signature.js';
export { FiefWebhookGuard } from './fief-webhook.guard.js';
