import type { IncomingMessage } from 'node:http';

/** The request as Express or Fastify hands it to a guard, as far as the raw body is concerned. */
export interface RawBodyRequest {
  rawBody?: unknown;
  body?: unknown;
  /** Fastify's underlying Node request. */
  raw?: IncomingMessage;
  /** Set by Express's body parsers once they read the stream. */
  _body?: unknown;
}

/** The exact bytes of the body, or why they cannot be had. */
export type RawBodyResult = { body: Buffer } | { tooLarge: true } | { unavailable: true } | { aborted: true };

/**
 * The body exactly as received: Nest's `rawBody` (Express and Fastify with `rawBody: true`), or the
 * request stream itself when no body parser consumed it (a content type no parser handles, or
 * `bodyParser: false`), read up to `maxBytes`. A body some parser consumed without keeping the
 * bytes is `unavailable`: re-serializing the parsed body would verify other bytes than Fief signed.
 */
export async function readRawBody(request: RawBodyRequest, maxBytes: number): Promise<RawBodyResult> {
  const { rawBody } = request;
  if (Buffer.isBuffer(rawBody)) return rawBody.length > maxBytes ? { tooLarge: true } : { body: rawBody };
  if (typeof rawBody === 'string') {
    const body = Buffer.from(rawBody, 'utf8');
    return body.length > maxBytes ? { tooLarge: true } : { body };
  }
  const stream = request.raw ?? (request as unknown as IncomingMessage);
  const untouched =
    request.body === undefined && request._body === undefined && typeof stream?.on === 'function' && stream.readable && !stream.readableEnded;
  if (!untouched) return { unavailable: true };
  const declared = Number(stream.headers?.['content-length']);
  if (declared > maxBytes) return { tooLarge: true };
  return new Promise<RawBodyResult>((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (result: RawBodyResult) => {
      if (settled) return;
      settled = true;
      chunks.length = 0;
      resolve(result);
    };
    // Past the bound the rest is read and dropped (not destroyed), so the connection can carry the 413.
    stream.on('data', (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > maxBytes) settle({ tooLarge: true });
      else chunks.push(chunk);
    });
    stream.once('end', () => settle({ body: Buffer.concat(chunks) }));
    stream.once('error', () => settle({ aborted: true }));
  });
}
