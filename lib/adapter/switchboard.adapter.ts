import type { Server as HttpServer } from 'node:http';
import { Logger, type WsMessageHandler } from '@nestjs/common';
import { AbstractWsAdapter } from '@nestjs/websockets';
import type { Observable } from 'rxjs';
import { HandshakeAuth } from '../auth/handshake-auth.js';
import { withTokenProtocol } from '../auth/token-sources.js';
import { CloseCode } from '../constants.js';
import { routesFor } from '../dispatch/dispatch-table.js';
import { onSocketMessage } from '../dispatch/message-dispatcher.js';
import { installNestExceptionBridge } from '../dispatch/nest-exception-bridge.js';
import { ErrorCode } from '../errors/error-codes.js';
import { SwitchboardError } from '../errors/switchboard.error.js';
import { globalWsFilterLookup } from '../filters/global-ws-filters.js';
import { SwitchboardHub } from '../hub/switchboard-hub.js';
import { SessionKeeper } from '../recovery/session-keeper.js';
import { bridgeGlobalWsInterceptors } from '../interceptors/global-ws-interceptors.js';
import type { SwitchboardAdapterOptions, SwitchboardGatewayOptions } from '../interfaces/adapter-options.interface.js';
import type { InboundMessage } from '../interfaces/envelope.interface.js';
import type { DecodedFrame, MessageParser } from '../interfaces/gateway-behaviour.interface.js';
import type { GlobalWsFilterLookup } from '../interfaces/global-filter.interface.js';
import { resolveAdapterOptions, splitGatewayOptions, type ResolvedGatewayBehaviour } from '../options/gateway-options.js';
import { acceptSocket } from '../socket/connection-lifecycle.js';
import { SwitchboardServer } from '../socket/switchboard-server.js';
import type { DisconnectCallback, SwitchboardSocket } from '../socket/switchboard-socket.js';
import type { GatewayStatsSnapshot } from '../stats/gateway-stats.js';
import { normalizePath } from '../utils/path.js';
import { closeClients } from './close-clients.js';
import { closeHttpServer, gatewayOnlyServer, listenOn, warnWhenAppServerLingers } from './gateway-port.js';
import { findProviderWhere, providerResolverOf, type GatewayResolverFactory } from './provider-lookup.js';
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
  /** Connection-state recovery, when the hub has it on. */
  private readonly sessions: SessionKeeper | undefined;
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
    this.hub = provided ?? new SwitchboardHub(undefined, {}, options.recovery);
    this.sessions = this.hub.recovery === undefined ? undefined : new SessionKeeper(this.hub, this.hub.recovery);
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
    const { path, server: readyMade, namespace, ...rest } = options;
    if (namespace !== undefined) {
      throw new SwitchboardError(
        ErrorCode.INVALID_OPTION,
        'SwitchboardAdapter does not support socket.io namespaces: give each gateway its own `path` instead.',
      );
    }
    if (readyMade !== undefined && readyMade !== null) {
      // WsAdapter returns a ready-made server untouched; so do we.
      return readyMade as SwitchboardServer;
    }
    const { behaviour, wsOptions } = splitGatewayOptions(this.behaviour, rest);
    const serverPath = normalizePath(path);
    wsOptions.handleProtocols = withTokenProtocol(behaviour.auth?.token?.protocol, wsOptions.handleProtocols);
    const server = new SwitchboardServer(serverPath, behaviour, wsOptions, {
      target: this.hub.targetFor(serverPath, behaviour.codec),
      lifecycle: this.hub.lifecycleFor(serverPath),
      globalWsFilter: this.globalWsFilter,
      nodeTag: this.hub.nodeTagBytes,
      sessions: this.sessions,
      metrics: this.hub.metrics,
    });
    server.on('error', (error: Error) => logger.error(error.message, error.stack));
    const auth = behaviour.auth === undefined ? undefined : new HandshakeAuth(behaviour.auth, this.resolverFor?.(port, options));
    const router = this.routerFor(port);
    router.add(server, auth);
    server.httpServer = router.httpServer;
    this.servers.add(server);
    this.hub.register(server);
    return server;
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
    const server = client._server;
    if (server === undefined) {
      return; // Not a socket of this adapter (a `server` option passed through).
    }
    if (client._handlers === undefined) {
      client._handlers = handlers;
      client._routes = routesFor(server, handlers);
      client.on('message', onSocketMessage);
      return;
    }
    // Several gateways share one port and path: serve them all from one listener.
    const merged = [...client._handlers, ...handlers];
    client._handlers = merged;
    client._routes = routesFor(server, merged);
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


/** The hub `SwitchboardModule` provides, when the adapter is built with the application. */
function findProvidedHub(appOrHttpServer: object | undefined): SwitchboardHub | undefined {
  // By brand, not by token: the module may come from the other build (ESM/CJS) of this package.
  return findProviderWhere(appOrHttpServer, (instance): instance is SwitchboardHub => instance instanceof SwitchboardHub);
}
