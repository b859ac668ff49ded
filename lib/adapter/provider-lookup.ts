import type { Type } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { ProviderResolver } from '../auth/handshake-auth.js';
import type { SwitchboardGatewayOptions } from '../interfaces/adapter-options.interface.js';
import { containerModulesOf, GATEWAY_OPTIONS_METADATA, GATEWAY_PORT_METADATA, type ContainerModule } from '../internals/nest.js';

/**
 * Finds a provider instance anywhere in the application without throwing.
 *
 * `app.get()` throws when a token is unknown, and a Nest application runs
 * its methods in an exceptions zone that exits the process on a throw
 * (`abortOnError` defaults to true), so a try/catch around `app.get()`
 * cannot be used to ask "is this module imported?". The container is read
 * directly instead.
 */
export function findProvider<T>(app: object | undefined, token: unknown): T | undefined {
  for (const module of containerModulesOf(app) ?? []) {
    const instance = findModuleProvider<T>(module, token);
    if (instance !== undefined) {
      return instance;
    }
  }
  return undefined;
}

/** The first provider instance anywhere in the application that passes a check (for tokens that differ between package copies). */
export function findProviderWhere<T>(app: object | undefined, matches: (instance: unknown) => instance is T): T | undefined {
  for (const module of containerModulesOf(app) ?? []) {
    for (const wrapper of module.providers.values()) {
      if (matches(wrapper.instance)) {
        return wrapper.instance;
      }
    }
  }
  return undefined;
}

/**
 * A provider of the application's root module: the first module the
 * scanner registered after Nest's own internal core module.
 */
export function findRootProvider<T>(app: object | undefined, token: unknown): T | undefined {
  for (const module of containerModulesOf(app) ?? []) {
    if (module.metatype?.name !== 'InternalCoreModule') {
      return findModuleProvider<T>(module, token);
    }
  }
  return undefined;
}

/**
 * The container module that declares the gateway whose options Nest handed
 * to `adapter.create(port, options)`. Nest passes a shallow copy of the
 * gateway's `@WebSocketGateway()` options (without `namespace` and `server`,
 * in Nest 11 and 12), so the copy is not the metadata object, but its values
 * are the metadata's values: the gateway is the provider whose class has that
 * port, that path and the very same `auth` object. Several gateways on one
 * port and path share the server Nest made for the first, so the first match
 * is the one whose options were passed.
 */
export function findGatewayModule(app: object | undefined, port: number, options: object): ContainerModule | undefined {
  for (const module of containerModulesOf(app) ?? []) {
    for (const wrapper of module.providers.values()) {
      const metatype = wrapper.metatype;
      if (typeof metatype !== 'function') {
        continue;
      }
      const declared = Reflect.getMetadata(GATEWAY_OPTIONS_METADATA, metatype) as Record<string, unknown> | undefined;
      if (declared !== undefined && ((Reflect.getMetadata(GATEWAY_PORT_METADATA, metatype) as number | undefined) ?? 0) === port && sameGateway(declared, options as Record<string, unknown>)) {
        return module;
      }
    }
  }
  return undefined;
}

/** A provider instance of one module (its own providers only, not its imports). */
export function findModuleProvider<T>(module: ContainerModule, token: unknown): T | undefined {
  const instance = module.providers.get(token)?.instance;
  return instance === undefined || instance === null ? undefined : (instance as T);
}

/** The keys compared are the ones that identify a gateway's server and its auth, not every option (a future Nest may add some). */
function sameGateway(declared: Record<string, unknown>, passed: Record<string, unknown>): boolean {
  return declared.path === passed.path && declared.auth === passed.auth;
}

/** Given the port and options Nest passed to `create()`, the resolver for that gateway. */
export type GatewayResolverFactory = (port: number, options: SwitchboardGatewayOptions) => ProviderResolver;

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
export function providerResolverOf(appOrHttpServer: object | undefined): GatewayResolverFactory | undefined {
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
