/** Guard and token extractors for GraphQL, WebSocket (socket.io) and microservice transports. */
export { FiefTransportAuthGuard, type FiefTransportError } from './fief-transport-auth.guard.js';
export {
  FIEF_TRANSPORT_EXTRACTORS,
  graphqlBearerExtractor,
  microservicePayloadExtractor,
  socketIoHandshakeExtractor,
} from './transport-extractors.js';
export { getTransportRequest } from './transport-request.js';
