import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A tiny real HTTP server for answers the dev server cannot give on purpose (a poisoned JWKS, a
 * redirecting discovery). Binds 127.0.0.1 on a free port.
 */
export async function startStubServer(
  handle: (req: IncomingMessage, res: ServerResponse, baseURL: string) => void,
): Promise<{ baseURL: string; hits: Map<string, number>; close: () => Promise<void> }> {
  const hits = new Map<string, number>();
  let baseURL = '';
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', baseURL).pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    handle(req, res, baseURL);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    baseURL,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Answers JSON. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
