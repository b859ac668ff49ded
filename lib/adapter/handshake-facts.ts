import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { Handshake, PathParams, QueryParams } from '../interfaces/handshake.interface.js';

/**
 * The handshake facts kept for the life of a connection. The peer address
 * is read from the TCP socket on first use and cached, so connections whose
 * address nobody asks for do not keep a string for it.
 */
export class HandshakeFacts implements Handshake {
  private address: string | undefined | null = null;

  constructor(
    readonly path: string,
    readonly route: string,
    readonly params: PathParams,
    readonly query: QueryParams,
    readonly headers: IncomingHttpHeaders,
    private readonly tcpSocket: Socket,
  ) {}

  get remoteAddress(): string | undefined {
    if (this.address === null) {
      this.address = this.tcpSocket.remoteAddress;
    }
    return this.address;
  }

  /** A plain-object view (for logs and JSON). */
  toJSON(): Handshake {
    const { path, route, params, query, headers, remoteAddress } = this;
    return { path, route, params, query, headers, remoteAddress };
  }
}
