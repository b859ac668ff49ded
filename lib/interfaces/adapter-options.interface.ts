import type { RecoveryOptions } from './recovery.interface.js';
import type { ServerOptions } from 'ws';
import type { MessageParser, SwitchboardGatewayBehaviour } from './gateway-behaviour.interface.js';

/** Options of `new SwitchboardAdapter(app, options)`. */
export interface SwitchboardAdapterOptions extends SwitchboardGatewayBehaviour {
  /** Drop-in for `WsAdapter`'s option of the same name. */
  messageParser?: MessageParser;
  /**
   * Bind the ports of gateways that have their own port. The test harness
   * turns it off and connects to those servers in memory.
   * @default true
   */
  listen?: boolean;
  /**
   * Connection-state recovery for the adapter's own hub (without
   * `SwitchboardModule`; with it, set `recovery` in `forRoot`). Off by default.
   */
  recovery?: RecoveryOptions | boolean;
}

/**
 * What `@WebSocketGateway(port, options)` accepts with this adapter: the
 * gateway `path` (static, or a pattern such as `/rooms/:room`), every `ws`
 * server option (`perMessageDeflate`, `verifyClient`, `handleProtocols`, ...),
 * and per-gateway overrides of the adapter's behaviour options. Name it as
 * the decorator's type argument, `@WebSocketGateway<SwitchboardGatewayOptions>({...})`,
 * and a misspelled option is a type error; at run time an unknown key is
 * warned about once.
 */
export interface SwitchboardGatewayOptions
  extends SwitchboardGatewayBehaviour,
    Omit<ServerOptions, 'port' | 'server' | 'noServer' | 'path' | 'WebSocket' | 'maxPayload'> {
  path?: string;
  /** A ready-made server, returned as is (as `WsAdapter` does). */
  server?: unknown;
  /** Not supported (socket.io only); rejected with a clear error. */
  namespace?: unknown;
}
