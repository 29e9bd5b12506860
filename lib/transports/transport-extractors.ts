import type { ExecutionContext } from '@nestjs/common';
import {
  bearerHeaderExtractor,
  FiefInvalidRequestError,
  parseBearerAuthorization,
  type FiefTokenExtractor,
  type FiefTokenExtractors,
} from '../auth/token-extractor.js';

/**
 * GraphQL over HTTP: `Authorization: Bearer <token>` of the HTTP request in the GraphQL context,
 * with the same refusals as on plain HTTP (no token in the URL or a form body, one header only).
 */
export const graphqlBearerExtractor: FiefTokenExtractor = bearerHeaderExtractor;

/**
 * socket.io: the token of the connection handshake, given either as `auth: { token }` (what browser
 * clients can send) or as an `Authorization: Bearer` header (Node clients, `extraHeaders`). Both at
 * once, or an `access_token` in the handshake URL (RFC 9700 §4.3.2), is refused with 400.
 * It is read on every guarded message, so a token that expires during the connection stops working.
 *
 * @example
 * io(url, { auth: { token: accessToken } });
 */
export const socketIoHandshakeExtractor: FiefTokenExtractor = {
  extract(client: any): string | undefined {
    const handshake = client?.handshake;
    if (handshake?.query?.access_token !== undefined) {
      throw new FiefInvalidRequestError('Send the access token as auth.token of the handshake, not in the URL.', 400);
    }
    const authToken: unknown = handshake?.auth?.token;
    const header: unknown = handshake?.headers?.authorization;
    if (header !== undefined && authToken !== undefined && authToken !== null && authToken !== '') {
      throw new FiefInvalidRequestError('Send the access token once: auth.token or the Authorization header, not both.', 400);
    }
    if (header === undefined) return authToken as string | undefined;
    if (typeof header !== 'string') throw new FiefInvalidRequestError('Send a single Authorization header.', 400);
    return parseBearerAuthorization(header);
  },
};

/**
 * Microservices: the `accessToken` field of the message payload (the raw token, no `Bearer `
 * prefix), since most transports (TCP among them) carry no headers. The guard then authenticates
 * the per-message context object (`@Ctx()`), not the payload.
 *
 * @example
 * client.send('castles.list', { accessToken, page: 1 });
 */
export const microservicePayloadExtractor: FiefTokenExtractor = {
  extract(_rpcContext: unknown, context?: ExecutionContext): string | undefined {
    const payload: unknown = context?.getArgByIndex(0);
    if (typeof payload !== 'object' || payload === null) return undefined;
    return (payload as { accessToken?: string }).accessToken;
  },
};

/**
 * The extractors {@link FiefTransportAuthGuard} falls back to for the transports the
 * `tokenExtractors` option does not cover.
 */
export const FIEF_TRANSPORT_EXTRACTORS: Readonly<FiefTokenExtractors> = Object.freeze({
  graphql: graphqlBearerExtractor,
  ws: socketIoHandshakeExtractor,
  rpc: microservicePayloadExtractor,
});
