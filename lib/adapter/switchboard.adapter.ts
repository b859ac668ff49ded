import { createServer, type Server as HttpServer } from 'node:http';
import { Logger, type Type, type WsMessageHandler } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { AbstractWsAdapter } from '@nestjs/websockets';
import type { Observable } from 'rxjs';
import type { WebSocket } from 'ws';
import { CloseCode } from '../constants.js';
import { installNestExceptionBridge } from '../dispatch/nest-exception-bridge.js';
import { onSocketMessage } from '../dispatch/message-dispatcher.js';
import { ErrorCode } from '../errors/error-codes.js';
import { SwitchboardError } from '../errors/switchboard.error.js';
import type { Handshake } from '../interfaces/handshake.interface.js';
import type {
  MessageParser,
  ResolvedGatewayBehaviour,
  SwitchboardAdapterOptions,
  SwitchboardGatewayOptions,
} from '../interfaces/switchboard-options.interface.js';
import type { ProviderResolver } from '../auth/handshake-auth.js';
import { globalWsFilterLookup, type GlobalWsFilterLookup } from '../filters/global-ws-filters.js';
import { SwitchboardHub } from '../hub/switchboard-hub.js';
import { rejectPendingRequests } from '../requests/client-requests.js';
import type { GatewayStatsSnapshot } from '../socket/gateway-stats.js';
import { SwitchboardServer } from '../socket/switchboard-server.js';
import type { DisconnectCallback, SocketData, SwitchboardSocket } from '../socket/switchboard-socket.js';
import { closeClients } from './close-clients.js';
import { findProvider, findRootProvider } from './provider-lookup.js';
import { resolveAdapterOptions, splitGatewayOptions } from './gateway-options.js';
import { refuseUpgradeRequest } from './http-refusal.js';
import { normalizePath } from './route-matcher.js';
import { UpgradeRouter } from './upgrade-router.js';

/** Nest's port for "the HTTP application's own port". */
const APPLICATION_PORT = 0;

const logger = new Logger('SwitchboardAdapter');

/**
 * A NestJS WebSocket adapter on `ws`. A drop-in for `@nestjs/platform-ws`'s
 * `WsAdapter`: `app.useWebSocketAdapter(new SwitchboardAdapter(app))`.
 *
 * Every gateway gets a {@link SwitchboardServer} in `noServer` mode; one
 * {@link UpgradeRouter} per port hands upgrades to the gateway of their path
 * (the application's HTTP server for port 0, a server of our own otherwise).
 *
 * @publicApi
 */
// The base class is left untyped: its server constraint (`on(event, Function)`)
// does not admit `ws`'s overloaded `on`; every method below is typed instead.
export class SwitchboardAdapter extends AbstractWsAdapter {
  private readonly behaviour: ResolvedGatewayBehaviour;
  private readonly routers = new Map<number, UpgradeRouter>();
  private readonly servers = new Set<SwitchboardServer>();
  /** Rooms, broadcasting and the broker; the module's when imported, else our own. */
  readonly hub: SwitchboardHub;
  private readonly ownsHub: boolean;
  /** Resolves guards and authenticators through the application's DI (absent without an app). */
  private readonly resolveProvider: ProviderResolver | undefined;
  /** The application's global WsExceptionFilter, which Nest does not apply to gateways by itself. */
  private readonly globalWsFilter: GlobalWsFilterLookup | undefined;

  /** Whether gateway ports are bound (off in the test harness). */
  private readonly listenOnPorts: boolean;

  constructor(appOrHttpServer?: object, options: SwitchboardAdapterOptions = {}) {
    super(appOrHttpServer);
    this.listenOnPorts = options.listen !== false;
    this.resolveProvider = providerResolverOf(appOrHttpServer);
    this.globalWsFilter = globalWsFilterLookup(appOrHttpServer);
    this.behaviour = resolveAdapterOptions(options);
    installNestExceptionBridge();
    const provided = findProvidedHub(appOrHttpServer);
    this.hub = provided ?? new SwitchboardHub();
    this.ownsHub = provided === undefined;
    if (this.ownsHub) {
      void this.hub.start();
    }
  }

  override create(port: number, options: SwitchboardGatewayOptions = {}): SwitchboardServer {
    const { path, server, namespace, ...rest } = options;
    if (namespace !== undefined) {
      throw new SwitchboardError(
        ErrorCode.INVALID_OPTION,
        'SwitchboardAdapter does not support socket.io namespaces: give each gateway its own `path` instead.',
      );
    }
    if (server !== undefined && server !== null) {
      // WsAdapter returns a ready-made server untouched; so do we.
      return server as SwitchboardServer;
    }
    const { behaviour, wsOptions } = splitGatewayOptions(this.behaviour, rest);
    const gateway = new SwitchboardServer(normalizePath(path), behaviour, wsOptions, this.hub, this.resolveProvider);
    gateway.globalWsFilter = this.globalWsFilter;
    gateway.on('error', (error: Error) => logger.error(error.message, error.stack));
    this.routerFor(port).add(gateway);
    this.servers.add(gateway);
    this.hub.register(gateway);
    return gateway;
  }

  override bindClientConnect(server: SwitchboardServer, callback: (...args: unknown[]) => void): void {
    server.on('connection', callback);
  }

  /**
   * Nest's disconnect hook receives `(code, reason)` as with `WsAdapter`. It
   * is called from the socket's one 'close' listener, before the socket
   * leaves its rooms, so `handleDisconnect` can still read `client.rooms`.
   */
  override bindClientDisconnect(client: SwitchboardSocket, callback: DisconnectCallback): void {
    if (client._gateway === undefined) {
      client.once('close', callback);
    } else if (client._onDisconnect === undefined) {
      client._onDisconnect = callback;
    } else {
      client._onDisconnect = [client._onDisconnect, callback].flat();
    }
  }

  override bindMessageHandlers(
    client: SwitchboardSocket,
    handlers: WsMessageHandler[],
    // Nest's RxJS transform is not used: plain and Promise results are sent
    // directly, Observables are subscribed to by the dispatcher.
    _transform: (data: unknown) => Observable<unknown>,
  ): void {
    const gateway = client._gateway;
    if (gateway === undefined) {
      return; // Not a socket of this adapter (a `server` option passed through).
    }
    if (client._handlers === undefined) {
      client._handlers = handlers;
      client._routes = gateway.routesFor(handlers);
      client.on('message', onSocketMessage);
      return;
    }
    // Several gateways share one port and path: serve them all from one listener.
    const merged = [...client._handlers, ...handlers];
    client._handlers = merged;
    client._routes = gateway.routesFor(merged);
  }

  /**
   * Shuts one gateway down gracefully: new upgrades get HTTP 503 and new
   * messages `SERVER_SHUTTING_DOWN`; handlers still running finish and send
   * their acks (up to `drainTimeout`); every client gets 1001 (or 1012); those
   * that do not answer the close handshake within `closeTimeout` are
   * terminated; the path and the heartbeat timer are released.
   */
  override async close(server: SwitchboardServer): Promise<void> {
    if (!(server instanceof SwitchboardServer) || server.closing) {
      return;
    }
    server.closing = true;
    server.heartbeat.stop();
    await server.drain(server.behaviour.drainTimeout);
    const code = server.behaviour.shutdownCloseCode;
    await closeClients(server.clients, code, code === CloseCode.SERVICE_RESTART ? 'Server restarting' : 'Server shutting down', server.behaviour.closeTimeout);
    for (const router of this.routers.values()) {
      router.remove(server);
    }
    this.servers.delete(server);
    this.hub.unregister(server);
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Closes the ports this adapter opened and takes its listener off the application's server. */
  override async dispose(): Promise<void> {
    await Promise.all([...this.servers].map((server) => this.close(server)));
    const closing: Promise<void>[] = [];
    for (const router of this.routers.values()) {
      router.detach();
      if (router.ownsServer) {
        closing.push(closeHttpServer(router.httpServer));
      }
    }
    this.routers.clear();
    await Promise.all(closing);
    if (this.ownsHub) {
      await this.hub.stop();
    }
  }

  /**
   * The HTTP server that receives upgrades for a port (0: the application's).
   * The test harness hands it in-memory connections.
   */
  httpServerFor(port = APPLICATION_PORT): HttpServer | undefined {
    return this.routers.get(port)?.httpServer ?? (port === APPLICATION_PORT ? (this.httpServer as HttpServer | undefined) : undefined);
  }

  /** Counters of every gateway this adapter serves. */
  getStats(): GatewayStatsSnapshot[] {
    return [...this.servers].map((server) => server.getStats());
  }

  /**
   * Called by Nest for a client that connected while the application was
   * still starting: nothing is bound to it yet, so it is told to retry.
   */
  closeClient(client: SwitchboardSocket): void {
    client.close(CloseCode.TRY_AGAIN_LATER, ErrorCode.SERVER_NOT_READY);
  }

  /** Drop-in for `WsAdapter#setMessageParser`; applies to every gateway. */
  setMessageParser(parser: MessageParser): void {
    this.behaviour.messageParser = parser;
    for (const server of this.servers) {
      server.behaviour.messageParser = parser;
    }
  }

  private routerFor(port: number): UpgradeRouter {
    const existing = this.routers.get(port);
    if (existing !== undefined) {
      return existing;
    }
    let router: UpgradeRouter;
    if (port === APPLICATION_PORT) {
      const httpServer = this.httpServer as HttpServer | undefined;
      if (httpServer === undefined || httpServer === null || typeof httpServer.on !== 'function') {
        throw new SwitchboardError(
          ErrorCode.NO_HTTP_SERVER,
          'A gateway without a port shares the application port, but this adapter has no HTTP server: ' +
            'build it with `new SwitchboardAdapter(app)`, or give the gateway a port.',
        );
      }
      router = new UpgradeRouter(httpServer, false, acceptSocket);
    } else {
      router = new UpgradeRouter(this.listenOnPorts ? listenOn(port) : gatewayOnlyServer(port), true, acceptSocket);
    }
    this.routers.set(port, router);
    return router;
  }
}

/** An HTTP server for a gateway port: plain HTTP requests get 426, bind failures are logged with their code. */
function gatewayOnlyServer(port: number): HttpServer {
  const httpServer = createServer((_request, response) => {
    refuseUpgradeRequest(response, 426, 'This port only serves WebSocket upgrades.');
  });
  httpServer.on('error', (error: NodeJS.ErrnoException) => {
    logger.error(`[${ErrorCode.LISTEN_FAILED}] Port ${port} could not be bound: ${error.code ?? error.message}`);
  });
  return httpServer;
}

function listenOn(port: number): HttpServer {
  return gatewayOnlyServer(port).listen(port);
}

function closeHttpServer(httpServer: HttpServer): Promise<void> {
  return new Promise((resolve) => {
    if (!httpServer.listening) {
      resolve();
      return;
    }
    httpServer.close(() => resolve());
    httpServer.closeAllConnections();
  });
}

/** Runs for every accepted socket, before Nest's connection handler. */
function acceptSocket(socket: SwitchboardSocket, server: SwitchboardServer, handshake: Handshake, data: object | undefined): void {
  socket._gateway = server;
  socket._handshake = handshake;
  if (data !== undefined) {
    socket.data = data as SocketData;
  }
  server.stats.connectionsOpened++;
  server.track(socket);
  socket.on('error', onSocketError);
  socket.on('close', onSocketClose);
}

/**
 * `ws` reports bad frames (oversized, invalid UTF-8, bad opcodes) here and
 * closes the socket itself (1009, 1007, 1002). The client caused them, so
 * they are counted and logged at debug level only.
 */
function onSocketError(this: WebSocket, error: Error & { code?: string }): void {
  const socket = this as SwitchboardSocket;
  socket._gateway!.stats.socketErrors++;
  logger.debug(`Client ${socket.id}: ${error.code ?? 'socket error'}: ${error.message}`);
}

function onSocketClose(this: WebSocket, code: number, reason: Buffer): void {
  const socket = this as SwitchboardSocket;
  const gateway = socket._gateway!;
  const onDisconnect = socket._onDisconnect;
  if (typeof onDisconnect === 'function') {
    onDisconnect(code, reason);
  } else if (onDisconnect !== undefined) {
    onDisconnect.forEach((callback) => callback(code, reason));
  }
  gateway.stats.connectionsClosed++;
  gateway.untrack(socket);
  rejectPendingRequests(socket);
  const subscriptions = socket._extras?.subscriptions;
  if (subscriptions !== undefined) {
    socket._extras!.subscriptions = undefined;
    for (const subscription of subscriptions) {
      subscription.unsubscribe();
    }
  }
  gateway.rooms.leaveAll(socket);
}

/**
 * Guards and authenticators are resolved as providers when the application
 * has them, and otherwise instantiated with DI from the root module.
 */
function providerResolverOf(appOrHttpServer: object | undefined): ProviderResolver | undefined {
  const moduleRef = findRootProvider<ModuleRef>(appOrHttpServer, ModuleRef);
  if (moduleRef === undefined) {
    return undefined;
  }
  return async <T>(type: Type<T>): Promise<T> => findProvider<T>(appOrHttpServer, type) ?? moduleRef.create(type);
}

/** The hub `SwitchboardModule` provides, when the adapter is built with the application. */
function findProvidedHub(appOrHttpServer: object | undefined): SwitchboardHub | undefined {
  const hub = findProvider<unknown>(appOrHttpServer, SwitchboardHub);
  return hub instanceof SwitchboardHub ? hub : undefined;
}
