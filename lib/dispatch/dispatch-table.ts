import type { WsMessageHandler } from '@nestjs/common';

interface DispatchTable {
  readonly events: readonly unknown[];
  readonly routes: ReadonlyMap<string, number>;
}

/** The tables of each gateway server, built from the handler lists Nest binds. */
const tablesByServer = new WeakMap<object, DispatchTable[]>();

/**
 * The event-to-index table for a handler list, shared by every socket of a
 * gateway, so that a connection stores only a reference. Nest builds a fresh
 * handler list per connection, always in the same order, so finding the
 * table is a few pointer-equal string checks.
 */
export function routesFor(server: object, handlers: readonly WsMessageHandler<unknown>[]): ReadonlyMap<string, number> {
  let tables = tablesByServer.get(server);
  if (tables === undefined) {
    tables = [];
    tablesByServer.set(server, tables);
  }
  for (const table of tables) {
    if (sameEvents(table.events, handlers)) {
      return table.routes;
    }
  }
  const events = handlers.map((handler) => handler.message);
  const routes = new Map<string, number>();
  // The last handler wins when an event is declared twice, as in `WsAdapter`'s Map.
  events.forEach((event, index) => routes.set(String(event), index));
  tables.push({ events, routes });
  return routes;
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
