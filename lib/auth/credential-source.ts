import type { ExecutionContext } from '@nestjs/common';

/**
 * A credential the pipeline accepts besides the token extractors' (today: the login flow's session
 * cookie). The module wiring provides the list under {@link FIEF_CREDENTIAL_SOURCES}; `auth/` only
 * knows this shape, so it never imports the code that reads cookies.
 */
export interface FiefCredentialSource {
  /** Context types it reads (`'http'` for the session cookie). */
  readonly types: readonly string[];
  /** Whether the request carries this credential at all, valid or not; cheap and synchronous. */
  isPresent(request: any, tenant: string | undefined): boolean;
  /**
   * The access token the credential stands for, refreshed when needed (the new cookie set on
   * `response`); `undefined` when it is no longer usable (tampered, ended, of another tenant).
   *
   * @throws FiefUnavailableError when a refresh is needed and Fief cannot be reached.
   */
  read(request: any, response: object | undefined, tenant: string | undefined, context?: ExecutionContext): Promise<string | undefined>;
}

/** Injection token of the `FiefCredentialSource[]` the module wiring plugs into the pipeline. */
export const FIEF_CREDENTIAL_SOURCES = Symbol('FIEF:CREDENTIAL_SOURCES');
