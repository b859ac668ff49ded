import { WebSocket, type ClientOptions } from 'ws';
import type { Codec } from '../interfaces/codec.interface.js';
import { GatewayTestClient } from './test-client.js';

/**
 * The test client on any URL, for end-to-end tests against a server that
 * really listens (yours, or a harness with `transport: 'tcp'`).
 */
export function connectTestClient(url: string, options: ClientOptions & { protocols?: string[]; codec?: Codec } = {}): Promise<GatewayTestClient> {
  const { protocols, codec, ...wsOptions } = options;
  const socket = new WebSocket(url, protocols ?? [], wsOptions);
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve(new GatewayTestClient(socket, codec)));
    socket.once('error', reject);
  });
}
