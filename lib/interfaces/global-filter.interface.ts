import type { ExceptionFilter } from '@nestjs/common';

/**
 * Finds the application's global `WsExceptionFilter` for an exception, if it
 * registered one. Nest never applies global filters to gateways, so the
 * adapter hands this lookup to each gateway server, and the exception bridge
 * asks it.
 */
export type GlobalWsFilterLookup = (exception: unknown) => ExceptionFilter | undefined;
