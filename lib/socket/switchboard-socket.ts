import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { WsMessageHandler } from '@nestjs/common';
import type { Subscription } from 'rxjs';
import { WebSocket } from 'ws';
import type { Handshake, PathParams, QueryParams } from '../interfaces/handshake.interface.js';
import type { SwitchboardServer } from './switchboard-server.js';

/** The per-connection data object users fill in; `client.data` by default. */
export type SocketData = Record<string, unknown>;

/**
 * The connected client: a real `ws` WebSocket (so `client.send(...)` and
 * every `ws` API keep working), extended with an id, a data object and the
 * facts of its handshake. `ws` builds it through its `WebSocket` server
 * option, so nothing wraps it.
 *
 * Per-connection state lives in plain fields set once here (a stable object
 * shape) and every listener is a module-level function that reads `this`, so
 * a connection costs no closures.
 */
export class SwitchboardSocket<TData extends object = SocketData> extends WebSocket {
  // Every field is initialised here, in one order, so that all sockets share one shape.
  /** Unique across processes (a random UUID), assigned when `ws` builds the socket. */
  readonly id: string = randomUUID();
  /** @internal The gateway server this socket belongs to. */
  _gateway: SwitchboardServer | undefined = undefined;
  /** @internal The handshake facts; set before Nest sees the socket. */
  _handshake: Handshake | undefined = undefined;
  /** @internal Event name to index into `_handlers`, shared by every socket of a gateway. */
  _routes: ReadonlyMap<string, number> | undefined = undefined;
  /** @internal The handlers Nest bound to this socket. */
  _handlers: readonly WsMessageHandler[] | undefined = undefined;
  /** @internal Observable replies still running; created on first use. */
  _subscriptions: Set<Subscription> | undefined = undefined;
  /** @internal Messages whose handlers have not finished. */
  _inflight = 0;
  private _data: TData | undefined = undefined;

  /**
   * Per-connection data: whatever the application stores about this client
   * (the principal after handshake authentication, for example). Created on
   * first access, so idle connections that never use it pay nothing.
   */
  get data(): TData {
    return (this._data ??= {} as TData);
  }

  set data(value: TData) {
    this._data = value;
  }

  /** The upgrade request's facts, parsed once. */
  get handshake(): Handshake {
    return this._handshake as Handshake;
  }

  /** Parameters of a pattern path: `/rooms/:room` gives `{ room: '42' }` for `/rooms/42`. */
  get params(): PathParams {
    return this.handshake.params;
  }

  /** The query string of the upgrade URL. */
  get query(): QueryParams {
    return this.handshake.query;
  }

  /** The path the client connected to, without the query string. */
  get path(): string {
    return this.handshake.path;
  }

  get headers(): IncomingHttpHeaders {
    return this.handshake.headers;
  }

  get remoteAddress(): string | undefined {
    return this.handshake.remoteAddress;
  }
}
