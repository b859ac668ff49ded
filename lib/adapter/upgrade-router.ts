import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import type { MatchFunction } from 'path-to-regexp';
import { ErrorCode } from '../errors/error-codes.js';
import { SwitchboardError } from '../errors/switchboard.error.js';
import type { Handshake, PathParams } from '../interfaces/handshake.interface.js';
import type { SwitchboardServer } from '../socket/switchboard-server.js';
import type { SwitchboardSocket } from '../socket/switchboard-socket.js';
import { HandshakeFacts } from './handshake-facts.js';
import { retainedHeaders } from './handshake-headers.js';
import { refuseUpgrade } from './http-refusal.js';
import { parseQueryString } from './query-string.js';
import type { HandshakeAuth } from '../auth/handshake-auth.js';
import { normalizePath } from '../utils/path.js';
import { compilePattern, isPatternPath, NO_PARAMS } from './route-matcher.js';

interface Route {
  readonly path: string;
  readonly server: SwitchboardServer;
  /** Handshake authentication of the gateway, when configured. */
  readonly auth: HandshakeAuth | undefined;
  readonly matcher: MatchFunction<Record<string, string | string[]>> | undefined;
}

/** Called with every accepted socket, before Nest's connection handler runs; `data` is the principal. */
export type AcceptSocket = (socket: SwitchboardSocket, server: SwitchboardServer, handshake: Handshake, data: object | undefined) => void;

/**
 * Owns the one `upgrade` listener of one HTTP server and routes each upgrade
 * to the gateway of its path: static paths by Map lookup, pattern paths in
 * the order they were registered. Unknown paths get HTTP 404 and closing
 * gateways HTTP 503, instead of a destroyed socket.
 */
export class UpgradeRouter {
  private readonly staticRoutes = new Map<string, Route>();
  private readonly patternRoutes: Route[] = [];
  private readonly listener = (request: IncomingMessage, socket: Duplex, head: Buffer): void => this.route(request, socket, head);

  constructor(
    readonly httpServer: HttpServer,
    /** True when the adapter created this server for a gateway port (it answers every upgrade). */
    readonly ownsServer: boolean,
    private readonly accept: AcceptSocket,
  ) {
    httpServer.on('upgrade', this.listener);
  }

  add(server: SwitchboardServer, auth: HandshakeAuth | undefined): void {
    const path = normalizePath(server.path);
    if (this.staticRoutes.has(path) || this.patternRoutes.some((route) => route.path === path)) {
      throw new SwitchboardError(ErrorCode.DUPLICATE_PATH, `Two gateways on one port claim the path "${path}".`);
    }
    if (isPatternPath(path)) {
      this.patternRoutes.push({ path, server, auth, matcher: compilePattern(path) });
    } else {
      this.staticRoutes.set(path, { path, server, auth, matcher: undefined });
    }
  }

  remove(server: SwitchboardServer): void {
    for (const [path, route] of this.staticRoutes) {
      if (route.server === server) {
        this.staticRoutes.delete(path);
      }
    }
    const index = this.patternRoutes.findIndex((route) => route.server === server);
    if (index !== -1) {
      this.patternRoutes.splice(index, 1);
    }
  }

  /** Takes the `upgrade` listener off the HTTP server (it may outlive the adapter). */
  detach(): void {
    this.httpServer.off('upgrade', this.listener);
  }

  private route(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = request.url ?? '/';
    const queryStart = url.indexOf('?');
    let pathname = queryStart === -1 ? url : url.slice(0, queryStart);
    if (!pathname.startsWith('/')) {
      pathname = absoluteFormPath(pathname);
    }
    const search = queryStart === -1 ? '' : url.slice(queryStart + 1);

    let route = this.staticRoutes.get(normalizePath(pathname));
    let params: PathParams = NO_PARAMS;
    if (route === undefined) {
      for (const candidate of this.patternRoutes) {
        let matched: ReturnType<NonNullable<Route['matcher']>>;
        try {
          matched = candidate.matcher!(pathname);
        } catch {
          refuseUpgrade(socket, 400, ErrorCode.BAD_REQUEST, 'The request path has a malformed percent-encoding.');
          return;
        }
        if (matched !== false) {
          route = candidate;
          params = matched.params;
          break;
        }
      }
    }
    if (route === undefined) {
      // On a shared HTTP server another upgrade listener (GraphQL subscriptions,
      // another adapter) may own this path: only answer when no one else can.
      if (this.ownsServer || this.httpServer.listenerCount('upgrade') === 1) {
        refuseUpgrade(socket, 404, ErrorCode.NOT_FOUND, 'No WebSocket gateway at this path.');
      }
      return;
    }
    const { server, auth } = route;
    if (server.closing) {
      server.stats.upgradesRefused++;
      refuseUpgrade(socket, 503, ErrorCode.SERVER_SHUTTING_DOWN, 'The server is shutting down.', { 'Retry-After': '1' });
      return;
    }
    if (server.slots.enabled) {
      // Only read when needed: Node caches the peer name object on the socket.
      const ip = request.socket.remoteAddress ?? '';
      const refused = server.slots.take(ip);
      if (refused !== undefined) {
        server.stats.upgradesRefused++;
        if (refused === 'total') {
          refuseUpgrade(socket, 503, ErrorCode.TOO_MANY_CONNECTIONS, 'This gateway is full; try again later.', { 'Retry-After': '5' });
        } else {
          refuseUpgrade(socket, 429, ErrorCode.RATE_LIMITED, 'Too many connections from this address.');
        }
        return;
      }
      // The slot is held until the TCP connection ends, whatever happens to the handshake.
      socket.once('close', () => server.slots.release(ip));
    }
    const handshake: Handshake = new HandshakeFacts(
      // The common case, a path equal to its route, shares the route's string.
      pathname === route.path ? route.path : pathname,
      route.path,
      params,
      parseQueryString(search),
      retainedHeaders(request.headers),
      request.socket,
    );
    if (auth === undefined) {
      this.upgrade(server, request, socket, head, handshake, undefined);
      return;
    }
    // Node removed its own error listener when it emitted 'upgrade': until `ws`
    // takes the socket, a reset during authentication must not crash the process.
    socket.on('error', ignoreSocketError);
    auth.run(request, handshake).then(
      (outcome) => {
        socket.off('error', ignoreSocketError);
        if (!outcome.accepted) {
          server.stats.authFailures++;
          refuseUpgrade(socket, outcome.status, outcome.code, outcome.message);
        } else if (socket.destroyed || server.closing) {
          socket.destroy();
        } else {
          this.upgrade(server, request, socket, head, handshake, outcome.data);
        }
      },
      () => socket.destroy(),
    );
  }

  private upgrade(server: SwitchboardServer, request: IncomingMessage, socket: Duplex, head: Buffer, handshake: Handshake, data: object | undefined): void {
    server.handleUpgrade(request, socket, head, (client) => {
      this.accept(client as SwitchboardSocket, server, handshake, data);
      server.emit('connection', client, request);
    });
  }
}

function ignoreSocketError(): void {}

/** Request targets in absolute form (`ws://host/path`) are legal, if rare. */
function absoluteFormPath(target: string): string {
  try {
    return new URL(target).pathname;
  } catch {
    return target;
  }
}
