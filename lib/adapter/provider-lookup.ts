/** The part of one of Nest's container modules these lookups read (the same in Nest 11 and 12). */
export interface ContainerModule {
  metatype?: { name?: string };
  providers: Map<unknown, { instance: unknown; metatype?: unknown }>;
}

/** The part of Nest's container these lookups read (the same in Nest 11 and 12). */
interface ContainerLike {
  getModules(): Map<string, ContainerModule>;
}

/** `@nestjs/websockets`' metadata keys, read as strings: its `constants` file is not a public export. */
const GATEWAY_OPTIONS = 'websockets:gateway_options';
const PORT_METADATA = 'port';

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
  const container = (app as { container?: ContainerLike } | undefined)?.container;
  if (container === undefined || typeof container.getModules !== 'function') {
    return undefined;
  }
  for (const module of container.getModules().values()) {
    const wrapper = module.providers.get(token);
    if (wrapper?.instance !== undefined && wrapper.instance !== null) {
      return wrapper.instance as T;
    }
  }
  return undefined;
}

/**
 * A provider of the application's root module: the first module the
 * scanner registered after Nest's own internal core module.
 */
export function findRootProvider<T>(app: object | undefined, token: unknown): T | undefined {
  const container = (app as { container?: ContainerLike } | undefined)?.container;
  if (container === undefined || typeof container.getModules !== 'function') {
    return undefined;
  }
  for (const module of container.getModules().values()) {
    if (module.metatype?.name === 'InternalCoreModule') {
      continue;
    }
    const instance = module.providers.get(token)?.instance;
    return instance === undefined || instance === null ? undefined : (instance as T);
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
  const container = (app as { container?: ContainerLike } | undefined)?.container;
  if (container === undefined || typeof container.getModules !== 'function') {
    return undefined;
  }
  for (const module of container.getModules().values()) {
    for (const wrapper of module.providers.values()) {
      const metatype = wrapper.metatype;
      if (typeof metatype !== 'function') {
        continue;
      }
      const declared = Reflect.getMetadata(GATEWAY_OPTIONS, metatype) as Record<string, unknown> | undefined;
      if (declared !== undefined && ((Reflect.getMetadata(PORT_METADATA, metatype) as number | undefined) ?? 0) === port && sameGateway(declared, options as Record<string, unknown>)) {
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
