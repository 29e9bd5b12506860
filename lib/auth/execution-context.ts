import type { ExecutionContext } from '@nestjs/common';
import type { FiefAuthenticatedRequest } from './fief-request.interface.js';

type TransportRequest = FiefAuthenticatedRequest & Record<string | symbol, any>;

function asObject(value: unknown): TransportRequest | undefined {
  return typeof value === 'object' && value !== null ? (value as TransportRequest) : undefined;
}

/**
 * The object the guard authenticates and attaches `fief` / `user` to, for a context type; `undefined`
 * for a transport it cannot read. HTTP only: `FiefTransportAuthGuard` reads the others through
 * {@link getTransportRequest}.
 */
export function getFiefRequest(context: ExecutionContext): TransportRequest | undefined {
  // getArgByIndex, not switchToHttp(): the latter allocates three closures per call on the hot path.
  if (context.getType() === 'http') return context.getArgByIndex(0);
  return undefined;
}

/**
 * The object a guard authenticates (and attaches `fief` / `user` to) for each transport Nest has,
 * read without importing the transport's package; `undefined` when it cannot be read (the guard
 * then refuses).
 *
 * - `'http'`: the Express / Fastify request.
 * - `'graphql'`: the HTTP request in the GraphQL context (`context.req`, which Nest's Apollo and
 *   Mercurius drivers put there). Resolver args are `[root, args, context, info]`.
 * - `'ws'`: the socket.io `Socket` (anything with a `handshake`); other WebSocket adapters keep no
 *   handshake on the client, so they are not readable.
 * - `'rpc'`: the microservice context (`TcpContext`, `NatsContext`...), created per message; the
 *   payload stays untouched.
 *
 * @example
 * const request = getTransportRequest(context);
 * request?.fief?.accessTokenInfo.permissions;
 */
export function getTransportRequest(context: ExecutionContext): TransportRequest | undefined {
  switch (context.getType<string>()) {
    case 'http':
      return asObject(context.getArgByIndex(0));
    case 'graphql':
      return asObject(asObject(context.getArgByIndex(2))?.req);
    case 'ws': {
      const client = asObject(context.getArgByIndex(0));
      return asObject(client?.handshake) ? client : undefined;
    }
    case 'rpc':
      return asObject(context.getArgByIndex(1));
    default:
      return undefined;
  }
}
