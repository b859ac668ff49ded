// The Nest application the three Nest servers share: one gateway on PATH
// with one `echo` handler returning {event, data}, exactly what a Nest user
// writes. Decorators are applied by calling them, so no TypeScript build
// step is needed (this is what the compiled decorators do).
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessageBody, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { EVENT, HOST, PATH } from '../lib/wire.mjs';

class EchoGateway {
  echo(data) {
    return { event: EVENT, data };
  }
}
WebSocketGateway({ path: PATH })(EchoGateway);
SubscribeMessage(EVENT)(EchoGateway.prototype, 'echo', Object.getOwnPropertyDescriptor(EchoGateway.prototype, 'echo'));
MessageBody()(EchoGateway.prototype, 'echo', 0);

class BenchModule {}
Module({ providers: [EchoGateway] })(BenchModule);

/**
 * Boots the app on Nest's default HTTP platform (Express) with the given
 * WebSocket adapter; gateways without a port share the HTTP server, as in
 * most applications. Resolves with the listening HTTP server.
 */
export async function startNestApp(createAdapter) {
  // abortOnError: false makes a failing bootstrap throw (the orchestrator
  // reports the measurement as failed) instead of exiting the process.
  const app = await NestFactory.create(BenchModule, { logger: false, abortOnError: false });
  app.useWebSocketAdapter(createAdapter(app));
  await app.listen(0, HOST);
  return app.getHttpServer();
}
