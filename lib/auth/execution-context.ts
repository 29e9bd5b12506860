import type { ExecutionContext } from '@nestjs/common';
import type { FiefAuthenticatedRequest } from './fief-request.interface.js';

/**
 * The object the guard authenticates and attaches `fief` / `user` to, for a context type; `undefined`
 * for a transport it cannot read. HTTP only for now; other transports add their case here (and a
 * token extractor under the same type).
 */
export function getFiefRequest(context: ExecutionContext): (FiefAuthenticatedRequest & Record<string | symbol, any>) | undefined {
  // getArgByIndex, not switchToHttp(): the latter allocates three closures per call on the hot path.
  if (context.getType() === 'http') return context.getArgByIndex(0);
  return undefined;
}
