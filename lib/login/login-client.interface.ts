import type {
  FiefAuthCallbackParameters,
  FiefAuthUrlParameters,
  FiefRefreshParameters,
  FiefTokenResponse,
  FiefUserInfo,
} from '../client/types.js';

/**
 * The part of the Fief client the login flow needs. `FiefClient` and the Nest `FiefService` both
 * satisfy it, so the flow works with either and tests can hand it any of them.
 */
export interface FiefLoginClient {
  authUrl(redirectUri: string, params?: FiefAuthUrlParameters): Promise<string>;
  authCallback(
    code: string,
    redirectUri: string,
    params?: FiefAuthCallbackParameters,
  ): Promise<[FiefTokenResponse, FiefUserInfo]>;
  authRefreshToken(refreshToken: string, params?: FiefRefreshParameters): Promise<[FiefTokenResponse, FiefUserInfo]>;
  userinfo(accessToken: string): Promise<FiefUserInfo>;
  logoutUrl(redirectUri: string): Promise<string>;
  generateCodeVerifier(): Promise<string>;
  getCodeChallenge(verifier: string, method?: 'plain' | 'S256'): Promise<string>;
}
