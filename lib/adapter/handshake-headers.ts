import type { IncomingHttpHeaders } from 'node:http';

/**
 * Headers that only served the WebSocket handshake itself. They are dropped
 * from `client.headers` so an idle connection does not keep them alive: on
 * a typical connection they are most of the header object.
 */
const HANDSHAKE_ONLY = new Set(['connection', 'upgrade', 'sec-websocket-key', 'sec-websocket-version', 'sec-websocket-extensions']);

/** The request headers worth keeping for the life of the connection. */
export function retainedHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const kept: IncomingHttpHeaders = {};
  for (const name in headers) {
    if (!HANDSHAKE_ONLY.has(name)) {
      kept[name] = headers[name];
    }
  }
  return kept;
}
