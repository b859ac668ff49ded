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
import type { InboundMessage } from '../interfaces/envelope.interface.js';
import { cancelDeferredClose } from '../ack/deferred-close.js';
import type { DecodedFrame, MessageParser } from '../interfaces/gateway-behaviour.interface.js';
import type { ResolvedGatewayBehaviour } from '../options/gateway-options.js';
import type { SwitchboardAdapterOptions, SwitchboardGatewayOptions } from '../interfaces/adapter-options.interface.js';
import type { ProviderResolver } from '../auth/handshake-auth.js';
import { globalWsFilterLookup, type GlobalWsFilterLookup } from '../filters/global-ws-filters.js';
import { bridgeGlobalWsInterceptors } from '../interceptors/global-ws-interceptors.js';
import { SwitchboardHub } from '../hub/switchboard-hub.js';
import { rejectPendingRequests } from '../requests/client-requests.js';
import type { GatewayStatsSnapshot } from '../stats/gateway-stats.js';
import { SwitchboardServer } from '../socket/switchboard-server.js';
import type { DisconnectCallback, SocketData, SwitchboardSocket } from '../socket/switchboard-socket.js';
import { closeClients } from './close-clients.js';
import { findGatewayModule, findModuleProvider, findProvider, findRootProvider, type ContainerModule } from './provider-lookup.js';
import { resolveAdapterOptions, splitGatewayOptions } from '../options/gateway-options.js';
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
  /** Makes each gateway's resolver of its handshake guards and authenticators (absent without an app). */
  private readonly resolverFor: GatewayResolverFactory | undefined;
  /** The application's global WsExceptionFilter, which Nest does not apply to gateways by itself. */
  private readonly globalWsFilter: GlobalWsFilterLookup | undefined;

  /** Whether gateway ports are bound (off in the test harness). */
  private readonly listenOnPorts: boolean;

  constructor(appOrHttpServer?: object, options: SwitchboardAdapterOptions = {}) {
    super(appOrHttpServer);
    this.listenOnPorts = options.listen !== false;
    this.resolverFor = providerResolverOf(appOrHttpServer);
    this.globalWsFilter = globalWsFilterLookup(appOrHttpServer);
    this.behaviour = resolveAdapterOptions(options);
    // A subclass's extension points, bound once here so the per-message path
    // only checks a field of the behaviour.
    if (typeof this.decodeMessage === 'function') {
      const decode = this.decodeMessage.bind(this);
      this.behaviour.decodeMessage = (frame, isBinary, client) => decode(frame, isBinary, client as SwitchboardSocket);
    }
    if (typeof this.routeMessage === 'function') {
      const route = this.routeMessage.bind(this);
      this.behaviour.routeMessage = (message, client) => route(message, client as SwitchboardSocket);
    }
    installNestExceptionBridge();
    bridgeGlobalWsInterceptors(this);
    const provided = findProvidedHub(appOrHttpServer);
    this.hub = provided ?? new SwitchboardHub();
    this.ownsHub = provided === undefined;
    if (this.ownsHub) {
      void this.hub.start();
    }
  }

  /**
   * Extension point for subclasses, in place of overriding `WsAdapter`'s
   * `bindMessageHandler`: turns one frame into `{ event, data, id? }`, or
   * returns nothing to drop the frame silently. Not defined by default: the
   * gateway's codec (or `messageParser`) decodes. What it returns goes through
   * the same checks as a decoded frame (nesting depth, envelope shape, one
   * ack per `id`); a throw is answered as `INVALID_MESSAGE` and logged.
   *
   * ```ts
   * class LegacyAdapter extends SwitchboardAdapter {
   *   protected override decodeMessage(frame: Buffer) {
   *     const [event, data] = JSON.parse(frame.toString()); // ["event", data] arrays
   *     return { event, data };
   *   }
   * }
   * ```
   */
  protected decodeMessage?(frame: Buffer, isBinary: boolean, client: SwitchboardSocket): DecodedFrame;

  /**
   * Extension point for subclasses: chooses the handler of a checked message
   * by returning the event name whose `@SubscribeMessage` handler runs it (or
   * `undefined`: no handler, answered as an unknown event). Not defined by
   * default: `message.event` is the handler's name. For aliases, versioned
   * event names, or a catch-all handler.
   */
  protected routeMessage?(message: InboundMessage, client: SwitchboardSocket): string | undefined;

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
    const gateway = new SwitchboardServer(normalizePath(path), behaviour, wsOptions, this.hub, this.resolverFor?.(port, options));
    gateway.globalWsFilter = this.globalWsFilter;
    gateway.on('error', (error: Error) => logger.error(error.message, error.stack));
    const router = this.routerFor(port);
    router.add(gateway);
    gateway.httpServer = router.httpServer;
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
    if (client._server === undefined) {
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
    const gateway = client._server;
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
    await closeClients(
      server.clients,
      code,
      code === CloseCode.SERVICE_RESTART ? ErrorCode.SERVER_RESTARTING : ErrorCode.SERVER_SHUTTING_DOWN,
      server.behaviour.closeTimeout,
    );
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
      } else if (this.forceCloseConnections !== true) {
        // The app's server is Nest's to close (right after this), and ending its
        // connections here could cut HTTP requests in flight: only say why it may hang.
        warnWhenAppServerLingers(router.httpServer);
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
    const appServer = this.httpServer as HttpServer | undefined;
    if (port === APPLICATION_PORT && appServer !== undefined && appServer !== null && typeof appServer.on === 'function') {
      router = new UpgradeRouter(appServer, false, acceptSocket);
    } else {
      // Without an application (`new SwitchboardAdapter()`), port 0 means what
      // it means to `WsAdapter` and to `ws`: a standalone server on a free
      // port (shared by the gateways of port 0; `server.address()` tells it).
      router = new UpgradeRouter(this.listenOnPorts ? listenOn(port) : gatewayOnlyServer(port), true, acceptSocket);
    }
    this.routers.set(port, router);
    return router;
  }
}

/**
 * Every TCP connection of a gateway port, from accept to close. Node's
 * `closeAllConnections()` forgets a socket once it was handed over by
 * 'upgrade', so a handshake still in authentication would hold `close()` for
 * up to the auth timeout: the port's own list lets shutdown end them all.
 */
const gatewayPortConnections = new WeakMap<HttpServer, Set<PortConnection>>();
type PortConnection = import('node:stream').Duplex;

/** An HTTP server for a gateway port: plain HTTP requests get 426, bind failures are logged with their code. */
function gatewayOnlyServer(port: number): HttpServer {
  const httpServer = createServer((_request, response) => {
    refuseUpgradeRequest(response, 426, 'This port only serves WebSocket upgrades.');
  });
  httpServer.on('error', (error: NodeJS.ErrnoException) => {
    logger.error(`[${ErrorCode.LISTEN_FAILED}] Port ${port} could not be bound: ${error.code ?? error.message}`);
  });
  const connections = new Set<PortConnection>();
  gatewayPortConnections.set(httpServer, connections);
  httpServer.on('connection', (socket: PortConnection) => {
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
  });
  return httpServer;
}

function listenOn(port: number): HttpServer {
  return gatewayOnlyServer(port).listen(port);
}

/**
 * Closes a gateway port within a bound. It runs after every gateway's clients
 * got their close frame (or were terminated), so what is left is no
 * WebSocket: keep-alive or never-used connections (a browser's spare
 * preconnect that never sends a byte), 426 answers, handshakes still being
 * authenticated. The port serves nothing else, so they are ended at once
 * rather than letting `close()` wait for peers that may never leave.
 */
function closeHttpServer(httpServer: HttpServer): Promise<void> {
  return new Promise((resolve) => {
    if (!httpServer.listening) {
      resolve();
      return;
    }
    httpServer.close(() => resolve());
    const connections = gatewayPortConnections.get(httpServer);
    if (connections !== undefined && connections.size > 0) {
      const address = httpServer.address();
      logger.debug(`Port ${typeof address === 'object' && address !== null ? address.port : String(address)}: ending ${connections.size} connection(s) left at shutdown`);
      for (const socket of connections) {
        socket.destroy();
      }
    }
  });
}

/** How long the app's HTTP server may take to close after the gateways before we say why. */
const APP_SERVER_LINGER_WARNING_MS = 3000;

/**
 * Node's `server.close()` ends idle keep-alive connections but waits for one
 * that never sent a request (browsers open spare ones) until the peer leaves:
 * `app.close()` then hangs with nothing in the log. The timer is unref'd and
 * cleared on 'close', so it never holds the process or outlives the server.
 */
function warnWhenAppServerLingers(httpServer: HttpServer): void {
  if (!httpServer.listening) {
    return;
  }
  const timer = setTimeout(() => {
    if (httpServer.listening) {
      return; // Not being closed: only the adapter was disposed.
    }
    httpServer.getConnections((error, count) => {
      if (error === null && count > 0) {
        logger.warn(
          `app.close() is still waiting for ${count} HTTP connection(s) on the application's port, such as a browser's ` +
            'spare connection that never sent a request; Node waits until the peer leaves. Pass ' +
            '`{ forceCloseConnections: true }` to NestFactory.create() to end them at shutdown.',
        );
      }
    });
  }, APP_SERVER_LINGER_WARNING_MS);
  timer.unref();
  httpServer.once('close', () => clearTimeout(timer));
}

/** Runs for every accepted socket, before Nest's connection handler. */
function acceptSocket(socket: SwitchboardSocket, server: SwitchboardServer, handshake: Handshake, data: object | undefined): void {
  socket._server = server;
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
  socket._server!.stats.socketErrors++;
  logger.debug(`Client ${socket.id}: ${error.code ?? 'socket error'}: ${error.message}`);
}

function onSocketClose(this: WebSocket, code: number, reason: Buffer): void {
  const socket = this as SwitchboardSocket;
  const gateway = socket._server!;
  const onDisconnect = socket._onDisconnect;
  if (typeof onDisconnect === 'function') {
    onDisconnect(code, reason);
  } else if (onDisconnect !== undefined) {
    onDisconnect.forEach((callback) => callback(code, reason));
  }
  gateway.stats.connectionsClosed++;
  gateway.untrack(socket);
  cancelDeferredClose(socket);
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

/** Given the port and options Nest passed to `create()`, the resolver for that gateway. */
type GatewayResolverFactory = (port: number, options: SwitchboardGatewayOptions) => ProviderResolver;

/**
 * Handshake guards and authenticators are resolved as Nest resolves
 * `@UseGuards` guards: in the module that declares the gateway. A class that
 * module provides is used as is; one provided anywhere else (a shared
 * AuthModule) too; any other is instantiated by that module's injector, so it
 * can inject the module's own providers, exported or not. The root module's
 * injector cannot see those, which made a guard in a feature module fail
 * every handshake. The module is looked up at the first handshake that needs
 * it (the container is complete by then) and kept; without a match (a server
 * not made by Nest's gateway scan) the root module's injector is used.
 */
function providerResolverOf(appOrHttpServer: object | undefined): GatewayResolverFactory | undefined {
  const rootModuleRef = findRootProvider<ModuleRef>(appOrHttpServer, ModuleRef);
  if (rootModuleRef === undefined) {
    return undefined;
  }
  return (port, options) => {
    let home: ContainerModule | null | undefined;
    return async <T>(type: Type<T>): Promise<T> => {
      if (home === undefined) {
        home = findGatewayModule(appOrHttpServer, port, options) ?? null;
      }
      const own = home === null ? undefined : findModuleProvider<T>(home, type);
      if (own !== undefined) {
        return own;
      }
      const injector = (home === null ? undefined : findModuleProvider<ModuleRef>(home, ModuleRef)) ?? rootModuleRef;
      return findProvider<T>(appOrHttpServer, type) ?? injector.create(type);
    };
  };
}

/** The hub `SwitchboardModule` provides, when the adapter is built with the application. */
function findProvidedHub(appOrHttpServer: object | undefined): SwitchboardHub | undefined {
  const hub = findProvider<unknown>(appOrHttpServer, SwitchboardHub);
  return hub instanceof SwitchboardHub ? hub : undefined;
}
