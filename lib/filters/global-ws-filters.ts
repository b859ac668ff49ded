import type { GlobalWsFilterLookup } from '../interfaces/global-filter.interface.js';
import { applicationConfigOf, FILTER_CATCH_EXCEPTIONS_METADATA } from '../internals/nest.js';
import { WsExceptionFilter } from './ws-exception.filter.js';



/**
 * Nest never applies global filters (`app.useGlobalFilters`, `APP_FILTER`)
 * to gateways: its WebSocket exception context returns no global metadata.
 * So that `WsExceptionFilter` can be registered once for the whole app, the
 * adapter looks the application's global filters up at exception time (so
 * filters added after the adapter count) and applies the first
 * `WsExceptionFilter` (or subclass) whose `@Catch` matches. Other global
 * filters were written for HTTP and are left alone, as Nest leaves them.
 */
export function globalWsFilterLookup(app: object | undefined): GlobalWsFilterLookup | undefined {
  const config = applicationConfigOf(app);
  if (config === undefined) {
    return undefined;
  }
  return (exception) => {
    for (const filter of config.getGlobalFilters()) {
      if (!(filter instanceof WsExceptionFilter)) {
        continue;
      }
      const types = (Reflect.getMetadata(FILTER_CATCH_EXCEPTIONS_METADATA, filter.constructor) ?? []) as Array<new (...args: never[]) => unknown>;
      if (types.length === 0 || types.some((type) => exception instanceof type)) {
        return filter;
      }
    }
    return undefined;
  };
}
