import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from './dev-server-http.js';
import type { FiefDevEndpoint, FiefDevFault } from './dev-server-types.js';

/** Fief's user API paths, inside a tenant. */
export const USER_ENDPOINTS = new Set(['/api/userinfo', '/api/profile', '/api/password', '/api/email/change', '/api/email/verify']);

/** The counted endpoint a tenant-relative path belongs to, if any. */
export function endpointOf(pathname: string): FiefDevEndpoint | undefined {
  switch (pathname) {
    case '/.well-known/openid-configuration':
      return 'discovery';
    case '/.well-known/jwks.json':
      return 'jwks';
    case '/authorize':
      return 'authorize';
    case '/api/token':
      return 'token';
    case '/api/userinfo':
      return 'userinfo';
    default:
      return USER_ENDPOINTS.has(pathname) ? 'profile' : undefined;
  }
}

/** One tenant's request counts and injected faults. */
export class DevFaults {
  /** Requests served, by endpoint. */
  readonly counts: Record<FiefDevEndpoint, number> = { discovery: 0, jwks: 0, authorize: 0, token: 0, userinfo: 0, profile: 0 };
  private readonly faults = new Map<FiefDevEndpoint, FiefDevFault>();

  reset(): void {
    for (const key of Object.keys(this.counts) as FiefDevEndpoint[]) this.counts[key] = 0;
  }

  set(endpoint: FiefDevEndpoint | 'all', fault: FiefDevFault | null): void {
    if (endpoint !== 'all' && !(endpoint in this.counts)) throw new Error(`FiefDevServer.setFault: unknown endpoint ${endpoint}`);
    if (fault !== null && !/^(down|hang|html|500|slow:\d+(\.\d+)?)$/.test(fault)) {
      throw new Error(`FiefDevServer.setFault: unknown fault ${fault} (down, hang, html, 500 or slow:<ms>)`);
    }
    const endpoints = endpoint === 'all' ? (Object.keys(this.counts) as FiefDevEndpoint[]) : [endpoint];
    for (const name of endpoints) {
      if (fault) this.faults.set(name, fault);
      else this.faults.delete(name);
    }
  }

  /** Counts the request and answers the fault set for its endpoint, if any; true when the request is dealt with. */
  async apply(pathname: string, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const endpoint = endpointOf(pathname);
    if (!endpoint) return false;
    this.counts[endpoint]++;
    const fault = this.faults.get(endpoint);
    if (!fault) return false;
    if (fault === 'down') {
      req.socket.destroy();
      return true;
    }
    if (fault === 'hang') return true; // the socket stays open until the client gives up or stop()
    if (fault === 'html') {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Bad gateway</body></html>');
      return true;
    }
    if (fault === '500') {
      sendJson(res, 500, { detail: 'Internal Server Error' });
      return true;
    }
    await new Promise((resolve) => setTimeout(resolve, Number(fault.slice('slow:'.length))));
    return false;
  }
}
