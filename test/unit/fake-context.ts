import { jest } from '@jest/globals';
import type { GatewayContext } from '../../lib/connection/connection.interface.js';
import type { SwitchboardAdapterOptions } from '../../lib/interfaces/adapter-options.interface.js';
import { resolveAdapterOptions, type ResolvedGatewayBehaviour } from '../../lib/options/gateway-options.js';
import { GatewayStats } from '../../lib/stats/gateway-stats.js';

/** A gateway server as the mechanisms see it: settings (resolved as the adapter resolves them), counters, drain count. */
export interface FakeContext extends GatewayContext {
  behaviour: ResolvedGatewayBehaviour;
  stats: GatewayStats;
  closing: boolean;
}

export function fakeContext(options: SwitchboardAdapterOptions = {}, path = '/'): FakeContext {
  return {
    path,
    behaviour: resolveAdapterOptions(options),
    stats: new GatewayStats(),
    closing: false,
    sessions: undefined,
    metrics: undefined,
    handlerStarted: jest.fn(),
    handlerFinished: jest.fn(),
  };
}
