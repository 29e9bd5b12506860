import { ServerResponse } from 'node:http';

/**
 * The Node response of a request, for entry points that are given only the request (passport):
 * Express links it (`req.res`); under Fastify the raw socket's current response is taken, and used
 * only when it answers this very request.
 */
export function findNodeResponse(request: any): ServerResponse | undefined {
  if (request?.res instanceof ServerResponse) return request.res;
  const candidate = request?.raw?.socket?._httpMessage;
  return candidate instanceof ServerResponse && candidate.req === request.raw ? candidate : undefined;
}
