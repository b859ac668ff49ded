// The Nest applications the three Nest servers share; only the adapter
// differs. Two gateways, one per kind of measurement, each exactly what a
// Nest user writes:
// - echo (echo, idle memory, connection rate, compression memory): one
//   gateway on PATH with one `echo` handler returning {event, data};
// - fan-out: a `join` handler that puts the client in a room and answers
//   `joined`, and a `broadcast(room, event, data)` method the server process
//   calls (the benchmark triggers broadcasts over IPC, so no client message
//   is in the way). With `rooms: 'native'` the adapter's rooms are used
//   (`client.join(room)`, `server.to(room).emit(event, data)`: socket.io and
//   SwitchboardAdapter); with `rooms: 'map'` they are written by hand in the
//   gateway, as a @nestjs/platform-ws user has to (WsAdapter has no rooms).
// Decorators are applied by calling them, so no TypeScript build step is
// needed (this is what the compiled decorators do).
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConnectedSocket, MessageBody, SubscribeMessage, WebSocketGateway, WebSocketServer } from '@nestjs/websockets';
import { EVENT, FANOUT, HOST, PATH } from '../lib/wire.mjs';

/** Applies a method decorator the way TypeScript's emitted code does. */
function decorateMethod(target, name, ...decorators) {
  const descriptor = Object.getOwnPropertyDescriptor(target.prototype, name);
  for (const decorator of decorators) {
    decorator(target.prototype, name, descriptor);
  }
}

function echoGateway(gatewayOptions) {
  class EchoGateway {
    echo(data) {
      return { event: EVENT, data };
    }
  }
  WebSocketGateway({ path: PATH, ...gatewayOptions })(EchoGateway);
  decorateMethod(EchoGateway, 'echo', SubscribeMessage(EVENT));
  MessageBody()(EchoGateway.prototype, 'echo', 0);
  return EchoGateway;
}

/** Rooms of the adapter: `client.join(room)`, `server.to(room).emit(event, data)`. */
class NativeRoomsGateway {
  server;

  join(client, room) {
    client.join(room);
    return { event: FANOUT.joined, data: room };
  }

  /** Returns what `emit` returns: the local deliveries for SwitchboardAdapter, `true` for socket.io. */
  broadcast(room, event, data) {
    return this.server.to(room).emit(event, data);
  }

  members(room) {
    // SwitchboardServer has `rooms.membersOf`; socket.io's default namespace adapter keeps a Map of Sets.
    return (this.server.rooms?.membersOf?.(room) ?? this.server.sockets?.adapter?.rooms?.get(room))?.size ?? 0;
  }
}

/** Rooms written by hand in the gateway, as with @nestjs/platform-ws. */
class MapRoomsGateway {
  rooms = new Map();

  join(client, room) {
    let members = this.rooms.get(room);
    if (members === undefined) {
      members = new Set();
      this.rooms.set(room, members);
    }
    members.add(client);
    return { event: FANOUT.joined, data: room };
  }

  handleDisconnect(client) {
    for (const [room, members] of this.rooms) {
      if (members.delete(client) && members.size === 0) {
        this.rooms.delete(room);
      }
    }
  }

  broadcast(room, event, data) {
    const members = this.rooms.get(room);
    if (members === undefined) {
      return 0;
    }
    const payload = JSON.stringify({ event, data });
    for (const client of members) {
      client.send(payload);
    }
    return members.size;
  }

  members(room) {
    return this.rooms.get(room)?.size ?? 0;
  }
}

/** Called once per process: the chosen class is decorated as a user's gateway class would be. */
function fanoutGateway(gatewayOptions, rooms) {
  const Gateway = rooms === 'map' ? MapRoomsGateway : NativeRoomsGateway;
  WebSocketGateway({ path: PATH, ...gatewayOptions })(Gateway);
  if (rooms !== 'map') {
    WebSocketServer()(Gateway.prototype, 'server');
  }
  decorateMethod(Gateway, 'join', SubscribeMessage(FANOUT.join));
  ConnectedSocket()(Gateway.prototype, 'join', 0);
  MessageBody()(Gateway.prototype, 'join', 1);
  return Gateway;
}

/**
 * Boots the app on Nest's default HTTP platform (Express) with the given
 * WebSocket adapter; gateways without a port share the HTTP server, as in
 * most applications. `app` picks the gateway ('echo' or 'fanout'),
 * `gateway` adds @WebSocketGateway options (compression, for example) and
 * `rooms` how the fan-out gateway keeps its rooms ('native' or 'map').
 * Resolves with the listening HTTP server and, for fan-out, the broadcast
 * functions the server process calls.
 */
export async function startNestApp(createAdapter, { app: kind = 'echo', gateway: gatewayOptions = {}, rooms = 'native' } = {}) {
  const Gateway = kind === 'fanout' ? fanoutGateway(gatewayOptions, rooms) : echoGateway(gatewayOptions);
  class BenchModule {}
  Module({ providers: [Gateway] })(BenchModule);
  // abortOnError: false makes a failing bootstrap throw (the orchestrator
  // reports the measurement as failed) instead of exiting the process.
  const app = await NestFactory.create(BenchModule, { logger: false, abortOnError: false });
  app.useWebSocketAdapter(createAdapter(app));
  await app.listen(0, HOST);
  const httpServer = app.getHttpServer();
  if (kind !== 'fanout') {
    return { httpServer };
  }
  const gateway = app.get(Gateway);
  return {
    httpServer,
    fanout: {
      broadcast: (room, event, data) => gateway.broadcast(room, event, data),
      members: (room) => gateway.members(room),
    },
  };
}
