import { HttpException, Injectable, type ExecutionContext } from '@nestjs/common';
import type { FiefAuthFailure } from '../auth/fief-auth-failure.js';
import { FiefAuthGuard } from '../auth/fief-auth.guard.js';
import { importOptionalPeer } from './optional-peer.js';
import { FIEF_TRANSPORT_EXTRACTORS } from './transport-extractors.js';
import { getTransportRequest } from './transport-request.js';

/**
 * What a WebSocket or microservice client receives when the guard refuses a message: the `data`
 * of the `exception` socket.io event, or the error of `ClientProxy.send()`.
 */
export interface FiefTransportError {
  status: 'error';
  /** The HTTP status the same refusal would have: 400, 401, 403 or 503. */
  statusCode: number;
  /** RFC 6750 code when there is one (`invalid_token`, `insufficient_scope`, `invalid_request`). */
  error?: string;
  message: string;
  /** Seconds to wait before retrying, on 503. */
  retryAfter?: number;
}

type TransportExceptionClass = new (error: object) => Error;

// Loaded on the first ws / rpc call: @nestjs/websockets and @nestjs/microservices are optional peers,
// and their exception filters only forward their own exception classes to the client.
let WsException: TransportExceptionClass | undefined;
let RpcException: TransportExceptionClass | undefined;

async function loadTransportException(type: string): Promise<void> {
  if (type === 'ws' && !WsException) {
    WsException = (await importOptionalPeer('@nestjs/websockets', 'FiefTransportAuthGuard on a gateway')).WsException;
  } else if (type === 'rpc' && !RpcException) {
    RpcException = (await importOptionalPeer('@nestjs/microservices', 'FiefTransportAuthGuard on a microservice')).RpcException;
  }
}

function httpExceptionToTransportError(exception: HttpException): FiefTransportError {
  const response = exception.getResponse();
  const message = typeof response === 'object' && response !== null && 'message' in response ? response.message : response;
  return { status: 'error', statusCode: exception.getStatus(), message: String(message) };
}

/**
 * `FiefAuthGuard` for every transport Nest has: HTTP (Express, Fastify), GraphQL resolvers,
 * socket.io gateways and microservice handlers, with the same decorators and verdicts. None of
 * `@nestjs/graphql`, `@nestjs/websockets` or `@nestjs/microservices` is loaded until a call of
 * that type arrives.
 *
 * - GraphQL: `Authorization: Bearer` of the HTTP request (`context.req`); refusals become GraphQL
 *   errors through Nest's own `HttpException` handling (the HTTP status stays 200).
 * - socket.io: `auth.token` or the `Authorization` header of the handshake, checked on every
 *   guarded message (the connection itself is not refused); a refused message gets an `exception`
 *   event whose data is a {@link FiefTransportError}, and the connection stays open. `client.fief`
 *   holds the current message's result only.
 * - Microservices: `accessToken` in the payload; a refused message errors with a
 *   {@link FiefTransportError} (an `RpcException`).
 * - Anything else (another context type, a WebSocket adapter without handshake) is refused with
 *   one log line.
 *
 * Token sources per type can still be replaced through the `tokenExtractors` option.
 *
 * @example
 * @Resolver() @UseGuards(FiefTransportAuthGuard)
 * class CastlesResolver { @Query(() => [Castle]) @Permissions('castles:read') castles() {} }
 * @example
 * @WebSocketGateway() @UseGuards(FiefTransportAuthGuard)
 * class CastlesGateway { @SubscribeMessage('castles') list() {} }
 */
@Injectable()
export class FiefTransportAuthGuard extends FiefAuthGuard {
  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const type = context.getType<string>();
    await loadTransportException(type);
    if (type === 'ws') this.forgetPreviousMessage(context.getArgByIndex(0));
    try {
      return await super.canActivate(context);
    } catch (error) {
      // The refusal for an unreadable transport is a bare HttpException, which the ws / rpc
      // exception filters would turn into "Internal server error".
      if (error instanceof HttpException) throw this.toTransportException(type, httpExceptionToTransportError(error)) ?? error;
      throw error;
    }
  }

  protected override getRequest(context: ExecutionContext): Record<string, any> | undefined {
    return getTransportRequest(context);
  }

  protected override extractCredential(context: ExecutionContext, request: Record<string, any>): unknown {
    const type = context.getType<string>();
    // The base guard keeps HTTP (and its session cookie) and whatever the tokenExtractors option configures.
    const fallback = this.fief.sharedOptions.tokenExtractors[type] ? undefined : FIEF_TRANSPORT_EXTRACTORS[type];
    return fallback ? fallback.extract(request, context) : super.extractCredential(context, request);
  }

  /** On ws / rpc without `exceptionFactory`: the transport's own exception carrying a {@link FiefTransportError}. */
  protected override createException(context: ExecutionContext, failure: FiefAuthFailure): Error {
    if (this.fief.sharedOptions.exceptionFactory) return super.createException(context, failure);
    const transportError: FiefTransportError = { status: 'error', statusCode: failure.status, message: failure.description };
    if (failure.error) transportError.error = failure.error;
    if (failure.retryAfter) transportError.retryAfter = failure.retryAfter;
    return this.toTransportException(context.getType(), transportError) ?? super.createException(context, failure);
  }

  /**
   * A socket outlives its messages: what an earlier guarded message attached must not be seen by a
   * later one, whose token may have expired meanwhile or whose handler is `@Public()`.
   */
  private forgetPreviousMessage(client: unknown): void {
    if (typeof client !== 'object' || client === null) return;
    const socket = client as Record<string, any>;
    if (socket.fief !== undefined && socket.user === socket.fief?.accessTokenInfo) delete socket.user;
    delete socket.fief;
  }

  private toTransportException(type: string, error: FiefTransportError): Error | undefined {
    if (type === 'ws' && WsException) return new WsException(error);
    if (type === 'rpc' && RpcException) return new RpcException(error);
    return undefined;
  }
}
