import type { ExecutionContext, Type } from '@nestjs/common';
import type { HandshakeClient } from '../interfaces/handshake-auth.interface.js';

/** The pattern guards see at the handshake (`context.switchToWs().getPattern()`). */
export const HANDSHAKE_PATTERN = 'handshake';

/** Stand-ins for the handler and class a message guard would see; they carry no metadata. */
class WebSocketHandshake {}
function handshake(): void {}

/**
 * A `ws` execution context for guards run on the upgrade request: the
 * client is the {@link HandshakeClient}, the data is undefined and the
 * pattern is `'handshake'`. A guard written for messages that reads
 * `client.handshake.headers` works in both places.
 */
export class HandshakeExecutionContext implements ExecutionContext {
  private readonly args: [HandshakeClient, undefined, string];

  constructor(client: HandshakeClient) {
    this.args = [client, undefined, HANDSHAKE_PATTERN];
  }

  getType<TContext extends string = 'ws'>(): TContext {
    return 'ws' as TContext;
  }

  getClass<T = unknown>(): Type<T> {
    return WebSocketHandshake as Type<T>;
  }

  getHandler(): () => void {
    return handshake;
  }

  getArgs<T extends unknown[] = unknown[]>(): T {
    return this.args as unknown as T;
  }

  getArgByIndex<T = unknown>(index: number): T {
    return this.args[index] as T;
  }

  switchToWs(): ReturnType<ExecutionContext['switchToWs']> {
    return {
      getClient: <T>() => this.args[0] as T,
      getData: <T>() => this.args[1] as T,
      getPattern: () => HANDSHAKE_PATTERN,
    };
  }

  switchToHttp(): ReturnType<ExecutionContext['switchToHttp']> {
    throw new Error('The handshake context is a ws context; use switchToWs().');
  }

  switchToRpc(): ReturnType<ExecutionContext['switchToRpc']> {
    throw new Error('The handshake context is a ws context; use switchToWs().');
  }
}
