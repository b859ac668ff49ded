import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import {
  Catch,
  Injectable,
  UseFilters,
  type ArgumentsHost,
  type CallHandler,
  type CanActivate,
  type ExceptionFilter,
  type INestApplication,
  type NestInterceptor,
  type PipeTransform,
  type WebSocketAdapter,
} from '@nestjs/common';
import { APP_FILTER, ModuleRef } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import {
  applicationConfigOf,
  containerModulesOf,
  FILTER_CATCH_EXCEPTIONS_METADATA,
  GATEWAY_OPTIONS_METADATA,
  GATEWAY_PORT_METADATA,
  handlerFiltersOf,
  SocketModule,
  WsExceptionsHandler,
  type SocketModuleView,
} from '../../../lib/internals/nest.js';
import { isObservable } from 'rxjs';
import { NEST_MAJOR } from '../../helpers/nest-line.js';

/**
 * The private surface of NestJS the library relies on (lib/internals/nest.ts),
 * pinned against the Nest this run loads. Runs on Nest 12 (the default run)
 * and Nest 11 (jest.nest11.config.js): a Nest release that moves one of these
 * fails here, by name.
 */

/** A WebSocket adapter that only records what Nest hands it, so gateways bind without a network. */
class RecordingAdapter implements WebSocketAdapter {
  readonly created: Array<{ port: number; options: Record<string, unknown>; server: object }> = [];
  readonly connects = new Map<object, (client: object) => void>();
  readonly handlers = new Map<object, Array<{ message: unknown; callback: (...args: unknown[]) => unknown }>>();

  create(port: number, options: Record<string, unknown> = {}): object {
    const server = { path: options.path };
    this.created.push({ port, options, server });
    return server;
  }
  bindClientConnect(server: object, callback: (client: object) => void): void {
    this.connects.set(server, callback);
  }
  bindClientDisconnect(): void {}
  bindMessageHandlers(client: object, handlers: Array<{ message: unknown; callback: (...args: unknown[]) => unknown }>): void {
    this.handlers.set(client, handlers);
  }
  async close(): Promise<void> {}
  /** Called by Nest 12 on app.close(). */
  async dispose(): Promise<void> {}

  /** A client connects to the gateway on `path`: the handler Nest bound for `event`. */
  handlerFor(path: string, event: string): (...args: unknown[]) => unknown {
    const { server } = this.created.find(({ options }) => options.path === path)!;
    const client = { emit: jest.fn() };
    this.connects.get(server)!(client);
    const handler = this.handlers.get(client)?.find(({ message }) => message === event);
    expect(handler).toBeDefined();
    return handler!.callback;
  }
}

class Boom extends Error {}

@Catch(Boom)
class BoomFilter implements ExceptionFilter {
  catch(): void {}
}

@Catch()
@Injectable()
class CatchAllFilter implements ExceptionFilter {
  catch(): void {}
}

const AUTH = { origins: ['https://example.org'] };

@UseFilters(CatchAllFilter)
@WebSocketGateway(0, { path: '/pinned', auth: AUTH, namespace: undefined } as Record<string, unknown>)
class PinnedGateway {
  @UseFilters(new BoomFilter())
  @SubscribeMessage('filtered')
  filtered(): never {
    throw new Boom('filtered');
  }
}

@WebSocketGateway(4321, { path: '/plain' })
class PlainGateway {
  @SubscribeMessage('plain')
  plain(): never {
    throw new Boom('plain');
  }
}

const globalFilter: ExceptionFilter = { catch: (_e: unknown, _h: ArgumentsHost) => undefined };
const globalInterceptor: NestInterceptor = { intercept: (_c, next: CallHandler) => next.handle() };
const globalGuard: CanActivate = { canActivate: () => true };
const globalPipe: PipeTransform = { transform: (value: unknown) => value };

/** One application for the whole file (booting one costs more than every assertion here). */
let app: INestApplication;
const adapter = new RecordingAdapter();
const contextCreators: Array<{ self: SocketModuleView; created: ReturnType<SocketModuleView['getContextCreator']> }> = [];

beforeAll(async () => {
  const prototype = SocketModule.prototype as unknown as SocketModuleView;
  const original = prototype.getContextCreator;
  prototype.getContextCreator = function (this: SocketModuleView, ...args: unknown[]) {
    const created = original.apply(this, args);
    contextCreators.push({ self: this, created });
    return created;
  };
  try {
    const moduleRef = await Test.createTestingModule({
      providers: [PinnedGateway, PlainGateway, { provide: APP_FILTER, useClass: CatchAllFilter }],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    app.useWebSocketAdapter(adapter);
    app.useGlobalFilters(globalFilter);
    app.useGlobalInterceptors(globalInterceptor);
    app.useGlobalGuards(globalGuard);
    app.useGlobalPipes(globalPipe);
    await app.init();
  } finally {
    prototype.getContextCreator = original;
  }
});

afterAll(async () => {
  await app?.close();
});

describe(`Nest ${NEST_MAJOR}: deep imports`, () => {
  it('@nestjs/websockets/exceptions/ws-exceptions-handler.js exports WsExceptionsHandler with handle() and its own filters list', () => {
    expect(typeof WsExceptionsHandler).toBe('function');
    expect(typeof WsExceptionsHandler.prototype.handle).toBe('function');
    expect(typeof WsExceptionsHandler.prototype.setCustomFilters).toBe('function');
    expect(handlerFiltersOf(new WsExceptionsHandler())).toEqual([]);
  });

  it('@nestjs/websockets/socket-module.js exports SocketModule with getContextCreator()', () => {
    expect(typeof SocketModule).toBe('function');
    expect(typeof (SocketModule.prototype as unknown as SocketModuleView).getContextCreator).toBe('function');
  });
});

describe(`Nest ${NEST_MAJOR}: metadata keys`, () => {
  it('@WebSocketGateway(port, options) writes its options and port where the adapter reads them', () => {
    expect(Reflect.getMetadata(GATEWAY_OPTIONS_METADATA, PlainGateway)).toEqual({ path: '/plain' });
    expect(Reflect.getMetadata(GATEWAY_PORT_METADATA, PlainGateway)).toBe(4321);
    expect(Reflect.getMetadata(GATEWAY_OPTIONS_METADATA, PinnedGateway)).toMatchObject({ path: '/pinned', auth: AUTH });
    expect(Reflect.getMetadata(GATEWAY_PORT_METADATA, PinnedGateway)).toBe(0);
  });

  it('@Catch(...types) writes the exception types where the global filter lookup reads them', () => {
    @Catch(TypeError, RangeError)
    class Two {}
    expect(Reflect.getMetadata(FILTER_CATCH_EXCEPTIONS_METADATA, Two)).toEqual([TypeError, RangeError]);
    expect(Reflect.getMetadata(FILTER_CATCH_EXCEPTIONS_METADATA, CatchAllFilter)).toEqual([]);
  });
});

describe(`Nest ${NEST_MAJOR}: what Nest hands the adapter`, () => {
  it('create(port, options): a copy of the gateway options, same values, without namespace and server', () => {
    expect(adapter.created.map(({ port, options }) => [port, options.path])).toEqual(
      expect.arrayContaining([
        [0, '/pinned'],
        [4321, '/plain'],
      ]),
    );
    const { port, options } = adapter.created.find((created) => created.options.path === '/pinned')!;
    const declared = Reflect.getMetadata(GATEWAY_OPTIONS_METADATA, PinnedGateway) as Record<string, unknown>;
    expect(port).toBe(0);
    expect(options).not.toBe(declared);
    expect(options.path).toBe('/pinned');
    expect(options.auth).toBe(AUTH); // the same object: findGatewayModule compares by identity
    expect('namespace' in options).toBe(false);
    expect('server' in options).toBe(false);
  });
});

describe(`Nest ${NEST_MAJOR}: exception handlers`, () => {
  /** Runs a gateway handler as Nest wraps it and returns the WsExceptionsHandler Nest called `handle` on. */
  async function handlerThatCaught(path: string, event: string): Promise<WsExceptionsHandler> {
    const callback = adapter.handlerFor(path, event);
    const handle = jest.spyOn(WsExceptionsHandler.prototype, 'handle');
    try {
      // With interceptors (Nest 12 applies the global one) the error travels in the Observable Nest returns.
      const result = await Promise.resolve(callback({})).catch(() => undefined);
      if (isObservable(result)) {
        await new Promise<void>((resolve) => result.subscribe({ complete: resolve, error: () => resolve() }));
      }
      expect(handle).toHaveBeenCalledTimes(1);
      const self = handle.mock.contexts[0];
      expect(self).toBeInstanceOf(WsExceptionsHandler);
      return self as WsExceptionsHandler;
    } finally {
      handle.mockRestore();
    }
  }

  it('Nest calls WsExceptionsHandler#handle for a throwing handler, and handlerFiltersOf sees its @UseFilters filters (gateway and method)', async () => {
    const handler = await handlerThatCaught('/pinned', 'filtered');
    const filters = handlerFiltersOf(handler);
    expect(filters).toHaveLength(2);
    expect(filters.map(({ exceptionMetatypes }) => exceptionMetatypes)).toEqual(expect.arrayContaining([[Boom], []]));
  });

  it('a handler without @UseFilters has none', async () => {
    expect(handlerFiltersOf(await handlerThatCaught('/plain', 'plain'))).toEqual([]);
  });
});

describe(`Nest ${NEST_MAJOR}: the application`, () => {
  it('applicationConfigOf(app) exposes the global filters, interceptors, guards, pipes and the WebSocket adapter', () => {
    const config = applicationConfigOf(app)!;
    expect(config).toBeDefined();
    expect(config.getGlobalFilters()).toContain(globalFilter);
    expect(config.getGlobalInterceptors()).toContain(globalInterceptor);
    expect(config.getGlobalGuards()).toContain(globalGuard);
    expect(config.getGlobalPipes()).toContain(globalPipe);
    expect(config.getIoAdapter()).toBe(adapter);
  });

  it('an APP_FILTER provider shows up in the global filters after init', () => {
    expect(applicationConfigOf(app)!.getGlobalFilters().some((registered) => registered instanceof CatchAllFilter)).toBe(true);
  });

  it('applicationConfigOf and containerModulesOf give undefined for anything that is not a Nest application', () => {
    for (const notAnApp of [undefined, {}, { config: {} }, { container: {} }]) {
      expect(applicationConfigOf(notAnApp)).toBeUndefined();
      expect(containerModulesOf(notAnApp)).toBeUndefined();
    }
  });

  it("containerModulesOf(app): Nest's core module first, then the root module, with providers as wrappers { metatype, instance }", () => {
    const modules = [...containerModulesOf(app)!];
    expect(modules[0].metatype?.name).toBe('InternalCoreModule');
    const root = modules[1];
    const wrapper = root.providers.get(PlainGateway);
    expect(wrapper?.metatype).toBe(PlainGateway);
    expect(wrapper?.instance).toBeInstanceOf(PlainGateway);
    expect(wrapper?.instance).toBe(app.get(PlainGateway));
    expect(root.providers.get(ModuleRef)?.instance).toBeInstanceOf(ModuleRef);
  });

  it(`SocketModule#getContextCreator runs on this.applicationConfig; its interceptors context has ${NEST_MAJOR >= 12 ? 'the app config' : 'no config'} (what the Nest 11 interceptor bridge keys on)`, () => {
    const seen = contextCreators;
    expect(seen).toHaveLength(1); // the very class Nest instantiates: the lib's import is Nest's module
    const config = applicationConfigOf(app)!;
    expect(seen[0].self.applicationConfig).toBe(config);
    const interceptors = seen[0].created?.interceptorsContextCreator;
    expect(interceptors).toBeDefined();
    expect(interceptors!.config).toBe(NEST_MAJOR >= 12 ? config : undefined);
  });
});
