import type { WsMessageHandler } from '@nestjs/common';
import type { ServerOptions } from 'ws';
import { WebSocketServer } from 'ws';
import type { ResolvedGatewayBehaviour } from '../interfaces/switchboard-options.interface.js';
import { GatewayStats } from './gateway-stats.js';
import { SwitchboardSocket } from './switchboard-socket.js';

/**
 * One gateway's server: a `ws` WebSocketServer in `noServer` mode (the
 * adapter's upgrade router hands it the sockets of its path), plus the
 * gateway's resolved behaviour and counters. This is what `afterInit(server)`
 * and `@WebSocketServer()` receive.
 */
export class SwitchboardServer extends WebSocketServer<typeof SwitchboardSocket> {
  readonly stats = new GatewayStats();
  /** Set by `close()`: new upgrades to this path get HTTP 503. */
  closing = false;
  /**
   * Dispatch tables built from the handler lists Nest binds; every socket
   * of the gateway shares one, so a connection stores only a reference.
   */
  private readonly dispatchTables: Array<{ events: readonly unknown[]; routes: ReadonlyMap<string, number> }> = [];

  constructor(
    /** The gateway path as declared (`/rooms/:room`), or `/`. */
    readonly route: string,
    readonly behaviour: ResolvedGatewayBehaviour,
    wsOptions: ServerOptions,
  ) {
    super({ ...wsOptions, noServer: true, WebSocket: SwitchboardSocket, maxPayload: behaviour.maxPayload });
  }

  /**
   * @internal Returns the shared event-to-index table for a handler list.
   * Nest builds a fresh list per connection, always in the same order, so
   * the comparison is a few pointer-equal string checks.
   */
  routesFor(handlers: readonly WsMessageHandler<unknown>[]): ReadonlyMap<string, number> {
    for (const table of this.dispatchTables) {
      if (sameEvents(table.events, handlers)) {
        return table.routes;
      }
    }
    const events = handlers.map((handler) => handler.message);
    const routes = new Map<string, number>();
    // The last handler wins when an event is declared twice, as in `WsAdapter`'s Map.
    events.forEach((event, index) => routes.set(String(event), index));
    this.dispatchTables.push({ events, routes });
    return routes;
  }
}

function sameEvents(events: readonly unknown[], handlers: readonly WsMessageHandler<unknown>[]): boolean {
  if (events.length !== handlers.length) {
    return false;
  }
  for (let i = 0; i < events.length; i++) {
    if (events[i] !== handlers[i].message) {
      return false;
    }
  }
  return true;
}
