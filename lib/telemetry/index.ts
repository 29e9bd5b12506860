/*
 * OpenTelemetry spans and metrics for calls to Fief, verifications, caches and refusals. A leaf: it
 * imports nothing from the other folders, so `client/` and `auth/` can both report through it.
 */
export { fiefCallKind, traceFiefCall, type FiefCallDescription, type FiefCallRecord } from './fief-call-tracing.js';
export {
  fiefCacheStats,
  observeVerification,
  recordRefusal,
  recordVerification,
  verificationOutcome,
  type FiefCacheStats,
} from './fief-metrics.js';
export {
  FIEF_ATTRIBUTE,
  FIEF_METRIC,
  FIEF_SPAN,
  FIEF_TELEMETRY_TENANT,
  type FiefCacheName,
  type FiefCallKind,
  type FiefVerificationOutcome,
} from './telemetry-names.js';
