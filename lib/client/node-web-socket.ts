import type { WebSocketConstructor } from './web-socket.js';

/**
 * Where there is no global `WebSocket` (Node 20), the `ws` package's, loaded
 * on first use: `import('ws')` in the ESM build, `require('ws')` in the CJS
 * build (tsc compiles the dynamic import so). The browser bundle replaces
 * this module (scripts/build-client.mjs), so it never names `ws`.
 */
export function loadWebSocket(): Promise<WebSocketConstructor> {
  return (loaded ??= import('ws').then((module: { WebSocket?: unknown; default?: unknown }) => (module.WebSocket ?? module.default) as WebSocketConstructor));
}

let loaded: Promise<WebSocketConstructor> | undefined;
