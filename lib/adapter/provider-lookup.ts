/** The part of Nest's container this lookup reads (the same in Nest 11 and 12). */
interface ContainerLike {
  getModules(): Map<string, { metatype?: { name?: string }; providers: Map<unknown, { instance: unknown }> }>;
}

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
