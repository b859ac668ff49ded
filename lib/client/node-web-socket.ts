import type { WebSocketConstructor } from './web-socket.js';

/**
 * Where there is no global `WebSocket` (Node 20), the `ws` package's, loaded
 * on first use: `import('ws')` in the ESM build, `require('ws')` in the CJS
 * build (tsc compiles the dynamic import so). The browser bundle replaces
 * this module (scripts/build-client.mjs), so it never names `ws`.
 */
export async function loadWebSocket(): Promise<WebSocketConstructor> {
  const module = (await import('ws')) as unknown as { WebSocket?: WebSocketConstructor; default?: WebSocketConstructor };
  return (module.WebSocket ?? module.default)!;
}
