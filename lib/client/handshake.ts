import type { ResolvedOptions } from './client-options.js';
import { loadWebSocket } from './node-web-socket.js';
import type { WebSocketConstructor, WebSocketLike } from './web-socket.js';

type HandshakeOptions = Pick<ResolvedOptions<unknown>, 'url' | 'auth' | 'WebSocket' | 'protocols' | 'tokenIn' | 'tokenName'>;

/**
 * What one connection attempt needs before its handshake: the URL (a
 * function may give another node each time), a fresh token (`refresh` after
 * the server refused the last one), and a WebSocket class (the option, the
 * global one, else the `ws` package in Node 20). Each may be slow or throw,
 * so this resolves to a function that opens the socket: the client calls it
 * only if the attempt is still the current one by then (not closed, not
 * timed out, not overtaken by another). The token goes in the query or as
 * the subprotocol pair `[tokenName, token]`, where the server's `auth.token`
 * looks; browsers cannot set headers on a WebSocket.
 */
export async function prepareHandshake(options: HandshakeOptions, refresh: boolean): Promise<() => WebSocketLike> {
  let url = typeof options.url === 'function' ? await options.url() : options.url;
  const token = options.auth && (await options.auth({ refresh }));
  const WebSocket = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket ?? (await loadWebSocket());
  return () => {
    const protocols = [...(options.protocols ?? [])];
    if (token) {
      if (options.tokenIn === 'protocol') {
        protocols.unshift(options.tokenName, token);
      } else {
        url += `${url.includes('?') ? '&' : '?'}${encodeURIComponent(options.tokenName)}=${encodeURIComponent(token)}`;
      }
    }
    return new WebSocket(url, protocols.length > 0 ? protocols : undefined) as WebSocketLike;
  };
}
