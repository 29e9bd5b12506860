import { FiefUnavailableError } from '../client/errors.js';

/**
 * The shared {@link FiefStore} failed or did not answer in time. Whatever needed it for a security
 * promise (single use, replay detection) is refused with 503, like any {@link FiefUnavailableError}
 * (it is one, so no caller can turn it into a 500); what only saved work falls back to local memory.
 */
export class FiefStoreUnavailableError extends FiefUnavailableError {}
