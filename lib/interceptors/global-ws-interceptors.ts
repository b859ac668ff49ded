import { Logger, type NestInterceptor } from '@nestjs/common';
import { SocketModule, type ApplicationConfigView, type SocketModuleView } from '../internals/nest.js';
import { WsTransformInterceptor } from './ws-transform.interceptor.js';

const logger = new Logger('SwitchboardAdapter');

/**
 * The `config` of Nest's `InterceptorsContextCreator`, as far as it reads it
 * for a gateway: gateways are static (never request-scoped), so the request
 * interceptors are asked for only by the signature, and there are none.
 */
interface InterceptorsConfig {
  getGlobalInterceptors(): NestInterceptor[];
  getGlobalRequestInterceptors(): never[];
}

/** Adapters whose application gets the bridge; other adapters' apps keep Nest's behaviour untouched. */
const bridgedAdapters = new WeakSet<object>();
let installed = false;

/**
 * Makes a global {@link WsTransformInterceptor} (`app.useGlobalInterceptors`
 * or `APP_INTERCEPTOR`) apply to the gateways of this adapter's application
 * on Nest 11, as Nest 12 applies it by itself.
 *
 * Nest 12 builds the gateways' enhancer contexts with the application's
 * config, so every global guard, pipe and interceptor reaches gateways.
 * Nest 11 builds them without it (`SocketModule#getContextCreator(container)`),
 * so none does: a global `WsTransformInterceptor` is silently skipped and
 * `@Exclude()` fields reach the client. Nest gives adapters no hook there,
 * so the bridge wraps `SocketModule#getContextCreator`, once per process:
 * when the interceptors context it returns has no config (Nest 11) and the
 * application's adapter is one of ours, it gets a config that lists only the
 * application's global `WsTransformInterceptor`s (subclasses included).
 * Nest then puts them first, before the gateway's and handler's own, exactly
 * where Nest 12 puts global interceptors, and computes them once per handler
 * at bootstrap, as it does on Nest 12.
 *
 * The presence of the config, not a version number, decides: on Nest 12 the
 * context already has one and is left alone, so the interceptor runs once.
 * Other global guards, pipes and interceptors are not bridged: on Nest 11
 * they were registered for HTTP, and a `platform-ws` app moved to this
 * adapter must not find them running on its messages (they are listed at
 * debug level). Global filters are bridged separately (see
 * `globalWsFilterLookup`), on both lines.
 */
export function bridgeGlobalWsInterceptors(adapter: object): void {
  bridgedAdapters.add(adapter);
  if (installed) {
    return;
  }
  installed = true;

  const prototype = SocketModule.prototype as unknown as SocketModuleView;
  const getContextCreator = prototype.getContextCreator;
  prototype.getContextCreator = function (this: SocketModuleView, ...args: unknown[]): ReturnType<SocketModuleView['getContextCreator']> {
    const contextCreator = getContextCreator.apply(this, args);
    const interceptors = contextCreator?.interceptorsContextCreator;
    const config = this.applicationConfig;
    if (interceptors !== undefined && interceptors.config === undefined && config !== undefined && bridgedAdapters.has(config.getIoAdapter() as object)) {
      interceptors.config = wsTransformInterceptorsOf(config);
      describeBridge(config);
    }
    return contextCreator;
  };
}

function wsTransformInterceptorsOf(config: ApplicationConfigView): InterceptorsConfig {
  return {
    // Read when Nest creates each handler's context, so everything registered before `init()` counts.
    getGlobalInterceptors: () => config.getGlobalInterceptors().filter((interceptor) => interceptor instanceof WsTransformInterceptor),
    getGlobalRequestInterceptors: () => [],
  };
}

function describeBridge(config: ApplicationConfigView): void {
  const interceptors = config.getGlobalInterceptors();
  const bridged = interceptors.filter((interceptor) => interceptor instanceof WsTransformInterceptor);
  const skipped = [
    ['guards', config.getGlobalGuards()],
    ['pipes', config.getGlobalPipes()],
    ['interceptors', interceptors.filter((interceptor) => !(interceptor instanceof WsTransformInterceptor))],
  ] as const;
  if (bridged.length > 0) {
    logger.debug(`Nest 11: applying the global ${names(bridged)} to gateways, as Nest 12 does`);
  }
  const listed = skipped.filter(([, enhancers]) => enhancers.length > 0).map(([kind, enhancers]) => `${kind} ${names(enhancers)}`);
  if (listed.length > 0) {
    logger.debug(`Nest 11 applies no global guards, pipes or interceptors to gateways; not applied to them: ${listed.join('; ')}`);
  }
}

function names(enhancers: readonly object[]): string {
  return enhancers.map((enhancer) => enhancer.constructor.name).join(', ');
}
