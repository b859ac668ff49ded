import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { DynamicModule, INestApplication, LoggerService, LogLevel, ModuleMetadata, Type } from '@nestjs/common';
import { Test, TestingModule } from '@nestjs/testing';
import { WebSocket, type ClientOptions } from 'ws';
import { SwitchboardAdapter } from '../adapter/switchboard.adapter.js';
import type { Codec } from '../interfaces/codec.interface.js';
import type { SwitchboardAdapterOptions } from '../interfaces/adapter-options.interface.js';
import { createMemorySocketPair } from './memory-duplex.js';
import { GatewayTestClient } from './test-client.js';

/** How test clients reach the gateways. */
export type HarnessTransport = 'memory' | 'tcp';

export interface GatewayHarnessOptions {
  /**
   * `memory` (default): no port is opened; each client is a real `ws`
   * client whose bytes go through Node's HTTP server and the adapter in
   * memory. `tcp`: the app listens on 127.0.0.1 and an ephemeral port.
   */
  transport?: HarnessTransport;
  /** Options of the `SwitchboardAdapter` the harness installs. */
  adapter?: SwitchboardAdapterOptions;
  /**
   * Your `SwitchboardAdapter` subclass (one that overrides `decodeMessage` or `routeMessage`), built as
   * `new adapterClass(app, options)`.
   * @default SwitchboardAdapter
   */
  adapterClass?: new (app: INestApplication, options: SwitchboardAdapterOptions) => SwitchboardAdapter;
  /** Runs on the application before `init()`: global pipes, filters, interceptors... */
  configure?: (app: INestApplication) => void | Promise<void>;
  /**
   * Nest's logger for the app. By default errors only (`['error', 'fatal']`):
   * a server bug, such as a crashing handshake guard, shows its cause
   * instead of only an HTTP 500 or an `INTERNAL` ack, while what clients get
   * wrong (bad frames, refused tokens) is logged at debug level and stays
   * out of the output. `false` silences everything. Not applied when the
   * harness is given a ready application, which keeps its own logger.
   */
  logger?: false | LogLevel[] | LoggerService;
}

export interface ConnectOptions {
  headers?: Record<string, string>;
  /** Subprotocols (`Sec-WebSocket-Protocol`), e.g. `['access_token', token]`. */
  protocols?: string[];
  /** The peer address the server sees (memory transport). @default '127.0.0.1' */
  remoteAddress?: string;
  /** A gateway with its own port (memory transport routes to it without binding it). */
  port?: number;
  /** Decode and encode frames with this codec (e.g. MessagePack). @default JSON */
  codec?: Codec;
  /** Answer pings automatically; `false` plays a peer that stopped answering. @default true */
  autoPong?: boolean;
  /** Offer permessage-deflate. @default true */
  perMessageDeflate?: boolean;
  /** Milliseconds to wait for the handshake. @default 2000 */
  timeout?: number;
}

/** The server refused the upgrade: its HTTP status and JSON body. */
export class UpgradeRefusedError extends Error {
  override readonly name = 'UpgradeRefusedError';
  constructor(
    readonly status: number,
    readonly body: { code?: string; message?: string } & Record<string, unknown>,
  ) {
    super(`Upgrade refused with HTTP ${status}${body.code !== undefined ? ` (${body.code})` : ''}`);
  }
}

/** Server errors are shown by default, in tests too: a hidden cause turns a bug into a bare 500. */
const DEFAULT_LOG_LEVELS: LogLevel[] = ['error', 'fatal'];

type HarnessTarget = TestingModule | ModuleMetadata | Type<unknown> | DynamicModule | INestApplication;

/**
 * Gateways under test, through the real Nest pipeline (handshake
 * authentication, guards, pipes, interceptors, filters), with no port.
 *
 * ```ts
 * const harness = await createGatewayHarness({ imports: [ChatModule] });
 * const ada = await harness.connect('/chat/lobby?nick=ada');
 * await expect(ada.request('say', { text: 'hi' })).resolves.toMatchObject({ text: 'hi' });
 * await harness.close();
 * ```
 */
export async function createGatewayHarness(target: HarnessTarget, options: GatewayHarnessOptions = {}): Promise<GatewayHarness> {
  const transport = options.transport ?? 'memory';
  const app = isApplication(target) ? target : (await compile(target)).createNestApplication({ logger: options.logger ?? DEFAULT_LOG_LEVELS });
  const Adapter = options.adapterClass ?? SwitchboardAdapter;
  const adapter = new Adapter(app, { ...options.adapter, listen: transport === 'tcp' });
  app.useWebSocketAdapter(adapter);
  await options.configure?.(app);
  if (transport === 'tcp') {
    await app.listen(0, '127.0.0.1');
  } else {
    await app.init();
  }
  return new GatewayHarness(app, adapter, transport);
}

async function compile(target: Exclude<HarnessTarget, INestApplication>): Promise<TestingModule> {
  if (target instanceof TestingModule) {
    return target;
  }
  const metadata: ModuleMetadata = typeof target === 'function' || 'module' in target ? { imports: [target as Type<unknown> | DynamicModule] } : target;
  return Test.createTestingModule(metadata).compile();
}

function isApplication(target: HarnessTarget): target is INestApplication {
  return typeof (target as INestApplication).useWebSocketAdapter === 'function';
}

export class GatewayHarness {
  private readonly clients = new Set<GatewayTestClient>();

  constructor(
    readonly app: INestApplication,
    readonly adapter: SwitchboardAdapter,
    readonly transport: HarnessTransport,
  ) {}

  /** A provider of the application (`harness.get(ChatService)`). */
  get<T>(token: Type<T> | string | symbol): T {
    return this.app.get(token as Type<T>, { strict: false });
  }

  /** The `ws://` URL of a path (TCP transport). */
  url(path = '/'): string {
    const address = this.app.getHttpServer().address() as { port: number } | null;
    if (address === null) {
      throw new Error('The harness uses the memory transport: there is no URL.');
    }
    return `ws://127.0.0.1:${address.port}${path}`;
  }

  /**
   * Opens a client on `path` (query string included). Rejects with an
   * {@link UpgradeRefusedError} when the server refuses the handshake.
   */
  connect(path: string, options: ConnectOptions = {}): Promise<GatewayTestClient> {
    const wsOptions: ClientOptions = {
      headers: options.headers,
      autoPong: options.autoPong ?? true,
      perMessageDeflate: options.perMessageDeflate ?? true,
      handshakeTimeout: options.timeout ?? 2000,
    };
    let url: string;
    if (this.transport === 'tcp') {
      url = this.url(path);
    } else {
      const httpServer = this.adapter.httpServerFor(options.port ?? 0);
      if (httpServer === undefined) {
        return Promise.reject(new Error(`No gateway listens on port ${options.port ?? 0}.`));
      }
      url = `ws://localhost${path.startsWith('/') ? '' : '/'}${path}`;
      wsOptions.createConnection = () => {
        const { client, server } = createMemorySocketPair(options.remoteAddress);
        httpServer.emit('connection', server);
        return client as unknown as Socket;
      };
    }
    const socket = new WebSocket(url, options.protocols ?? [], wsOptions);
    return new Promise((resolve, reject) => {
      socket.once('open', () => {
        const client = new GatewayTestClient(socket, options.codec);
        this.clients.add(client);
        socket.once('close', () => this.clients.delete(client));
        resolve(client);
      });
      socket.once('unexpected-response', (_request, response: IncomingMessage) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => {
          socket.terminate();
          let parsed: Record<string, unknown> = {};
          try {
            parsed = JSON.parse(body) as Record<string, unknown>;
          } catch {
            parsed = { message: body };
          }
          reject(new UpgradeRefusedError(response.statusCode ?? 0, parsed));
        });
      });
      socket.once('error', reject);
    });
  }

  /** Closes every client still open and the application; nothing is left running. */
  async close(): Promise<void> {
    await this.app.close();
    for (const client of this.clients) {
      client.socket.terminate();
    }
    this.clients.clear();
  }
}
