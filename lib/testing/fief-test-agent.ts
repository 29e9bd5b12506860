import { AssertionError } from 'node:assert';
import { isDeepStrictEqual } from 'node:util';

/** A response seen by a {@link FiefTestAgent}: the body is read once, as text and (when JSON) parsed. */
export interface FiefTestResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed JSON body; `undefined` when the body is not JSON. */
  body: any;
}

/** One request of a {@link FiefTestAgent}; sent when awaited or when {@link expect} is called. */
export interface FiefTestRequest extends PromiseLike<FiefTestResponse> {
  /** Adds a request header. */
  set(name: string, value: string): this;
  /** Sends a JSON body (or a string as is). */
  send(body: unknown): this;
  /**
   * Sends the request and checks the status (and, when given, that the JSON body equals `body`);
   * rejects with an `AssertionError` showing the answer otherwise, so any test runner reports it.
   */
  expect(status: number, body?: unknown): Promise<FiefTestResponse>;
}

/**
 * A small HTTP agent for e2e tests, over `fetch`: it sends its credential (a bearer token, or the
 * cookies of a browser session) with every request, keeps the cookies the app sets as a browser
 * would, and follows no redirect. No test runner's globals are used, so it works under Jest,
 * Vitest and `node:test` alike.
 *
 * @example
 * const agent = new FiefTestAgent('http://127.0.0.1:3000', { token });
 * await agent.get('/castles').expect(200);
 * const created = await agent.post('/castles').send({ name: 'Nantes' }).expect(201);
 */
export class FiefTestAgent {
  /** Cookies by name, as a browser's jar would hold them for the app. */
  readonly cookies: Map<string, string>;

  constructor(
    /** The app's base URL, e.g. `http://127.0.0.1:43210`. */
    readonly baseURL: string,
    private readonly credential: { token?: string; cookies?: Record<string, string> } = {},
  ) {
    this.cookies = new Map(Object.entries(credential.cookies ?? {}));
  }

  /** The bearer token this agent sends, if any. */
  get token(): string | undefined {
    return this.credential.token;
  }

  /** The `Cookie` header this agent sends now. */
  get cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  get(path: string): FiefTestRequest {
    return this.request('GET', path);
  }

  post(path: string): FiefTestRequest {
    return this.request('POST', path);
  }

  put(path: string): FiefTestRequest {
    return this.request('PUT', path);
  }

  patch(path: string): FiefTestRequest {
    return this.request('PATCH', path);
  }

  delete(path: string): FiefTestRequest {
    return this.request('DELETE', path);
  }

  /** Any method; `path` is relative to {@link baseURL}. */
  request(method: string, path: string): FiefTestRequest {
    const headers = new Headers();
    let body: string | undefined;
    let sent: Promise<FiefTestResponse> | undefined;
    const send = () => (sent ??= this.send(method, path, headers, body));
    const request: FiefTestRequest = {
      set(name, value) {
        headers.set(name, value);
        return request;
      },
      send(value) {
        if (typeof value === 'string') body = value;
        else {
          body = JSON.stringify(value);
          if (!headers.has('content-type')) headers.set('content-type', 'application/json');
        }
        return request;
      },
      async expect(status, expectedBody) {
        const response = await send();
        const shown = () => `${method} ${path} answered ${response.status}: ${response.text.slice(0, 500)}`;
        if (response.status !== status) throw new AssertionError({ message: `expected ${status}; ${shown()}`, actual: response.status, expected: status });
        if (expectedBody !== undefined && !isDeepStrictEqual(response.body, expectedBody)) {
          throw new AssertionError({ message: `unexpected body; ${shown()}`, actual: response.body, expected: expectedBody });
        }
        return response;
      },
      then(onFulfilled, onRejected) {
        return send().then(onFulfilled, onRejected);
      },
    };
    return request;
  }

  private async send(method: string, path: string, headers: Headers, body: string | undefined): Promise<FiefTestResponse> {
    if (this.credential.token && !headers.has('authorization')) headers.set('authorization', `Bearer ${this.credential.token}`);
    if (this.cookies.size > 0 && !headers.has('cookie')) headers.set('cookie', this.cookieHeader);
    const response = await fetch(new URL(path, this.baseURL), { method, headers, body, redirect: 'manual' });
    storeCookies(this.cookies, response.headers.getSetCookie());
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: response.status, headers: response.headers, text, body: parsed };
  }
}

/** Applies `Set-Cookie` lines to a jar as a browser would: set, replaced, or removed when expired. */
export function storeCookies(jar: Map<string, string>, lines: readonly string[]): void {
  for (const line of lines) {
    const [pair, ...attributes] = line.split(';');
    const index = pair.indexOf('=');
    if (index <= 0) continue;
    const name = pair.slice(0, index).trim();
    const value = pair.slice(index + 1).trim();
    const expired = attributes.some((attribute) => {
      const [key, raw = ''] = attribute.trim().split('=');
      if (key.toLowerCase() === 'max-age') return Number(raw) <= 0;
      if (key.toLowerCase() === 'expires') return Date.parse(raw) <= Date.now();
      return false;
    });
    if (expired || value === '') jar.delete(name);
    else jar.set(name, value);
  }
}
