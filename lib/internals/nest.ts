import type { ExceptionFilter, NestInterceptor } from '@nestjs/common';
import { WsExceptionsHandler } from '@nestjs/websockets/exceptions/ws-exceptions-handler.js';
import { SocketModule } from '@nestjs/websockets/socket-module.js';

/**
 * The private parts of NestJS this library relies on, in one place. Each is
 * the same on Nest 11 and 12, and each is pinned by
 * test/unit/internals/nest.spec.ts, which runs on both lines: a Nest release
 * that moves one fails there, loudly, instead of somewhere downstream.
 *
 * - deep imports: `WsExceptionsHandler` (its `handle` is wrapped by the
 *   exception bridge) and `SocketModule` (its `getContextCreator` by the
 *   Nest 11 interceptor bridge); neither is exported by `@nestjs/websockets`;
 * - `WsExceptionsHandler#filters`: the handler's own `@UseFilters` filters;
 * - `app.config` (`ApplicationConfig`): the global filters, interceptors,
 *   guards, pipes and the app's WebSocket adapter;
 * - `app.container.getModules()`: providers without `app.get()` (which
 *   throws into Nest's abort-on-error zone for an unknown token);
 * - metadata keys of `@WebSocketGateway` and `@Catch` (not exported).
 */
export { SocketModule, WsExceptionsHandler };

/** `@WebSocketGateway()` options and port, as Nest's decorator stores them. */
export const GATEWAY_OPTIONS_METADATA = 'websockets:gateway_options';
export const GATEWAY_PORT_METADATA = 'port';
/** `@Catch(...)` exception types. */
export const FILTER_CATCH_EXCEPTIONS_METADATA = '__filterCatchExceptions__';

/** One module of Nest's container, as far as the lookups read it. */
export interface ContainerModule {
  metatype?: { name?: string };
  providers: Map<unknown, { instance: unknown; metatype?: unknown }>;
}

/** The modules of an application's container, or undefined when `app` is not a Nest application. */
export function containerModulesOf(app: object | undefined): Iterable<ContainerModule> | undefined {
  const container = (app as { container?: { getModules?: () => Map<string, ContainerModule> } } | undefined)?.container;
  return typeof container?.getModules === 'function' ? container.getModules().values() : undefined;
}

/** What this library reads of Nest's `ApplicationConfig`. */
export interface ApplicationConfigView {
  getIoAdapter(): unknown;
  getGlobalFilters(): ExceptionFilter[];
  getGlobalInterceptors(): NestInterceptor[];
  getGlobalGuards(): object[];
  getGlobalPipes(): object[];
}

/** An application's config, or undefined when `app` is not a Nest application. */
export function applicationConfigOf(app: object | undefined): ApplicationConfigView | undefined {
  const config = (app as { config?: Partial<ApplicationConfigView> } | undefined)?.config;
  return typeof config?.getGlobalFilters === 'function' ? (config as ApplicationConfigView) : undefined;
}

/** The filters of one handler's exception handler (`@UseFilters` on the gateway or the method). */
export function handlerFiltersOf(handler: WsExceptionsHandler): ReadonlyArray<{ exceptionMetatypes: ReadonlyArray<new (...args: never[]) => unknown> }> {
  return (handler as unknown as { filters?: Array<{ exceptionMetatypes: Array<new (...args: never[]) => unknown> }> }).filters ?? [];
}

/** What the Nest 11 interceptor bridge reads and sets on `SocketModule` and its context creator. */
export interface SocketModuleView {
  applicationConfig?: ApplicationConfigView;
  getContextCreator(...args: unknown[]): { interceptorsContextCreator?: { config?: unknown } } | undefined;
}
