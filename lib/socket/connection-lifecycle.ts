import { Logger } from '@nestjs/common';
import type { WebSocket } from 'ws';
import { cancelDeferredClose } from '../ack/deferred-close.js';
import type { Handshake } from '../interfaces/handshake.interface.js';
import { rejectPendingRequests } from '../requests/client-requests.js';
import { createNodeSocketId } from './socket-id.js';
import type { SwitchboardServer } from './switchboard-server.js';
import type { SocketData, SwitchboardSocket } from './switchboard-socket.js';

const logger = new Logger('SwitchboardAdapter');

/** Runs for every accepted socket, before Nest's connection handler. */
export function acceptSocket(socket: SwitchboardSocket, server: SwitchboardServer, handshake: Handshake, data: object | undefined): void {
  socket._server = server;
  // The id names this node, so broadcasts to it from other nodes come here only.
  (socket as { id: string }).id = createNodeSocketId(server.nodeTag);
  socket._handshake = handshake;
  if (data !== undefined) {
    socket.data = data as SocketData;
  }
  server.stats.connectionsOpened++;
  server.track(socket);
  socket.on('error', onSocketError);
  socket.on('close', onSocketClose);
  // Its session first: `$session` is the first frame a recovering client reads.
  server.sessions?.opened(socket);
}

/**
 * `ws` reports bad frames (oversized, invalid UTF-8, bad opcodes) here and
 * closes the socket itself (1009, 1007, 1002). The client caused them, so
 * they are counted and logged at debug level only.
 */
function onSocketError(this: WebSocket, error: Error & { code?: string }): void {
  const socket = this as SwitchboardSocket;
  socket._server!.stats.socketErrors++;
  logger.debug(`Client ${socket.id}: ${error.code ?? 'socket error'}: ${error.message}`);
}

function onSocketClose(this: WebSocket, code: number, reason: Buffer): void {
  const socket = this as SwitchboardSocket;
  const server = socket._server!;
  const onDisconnect = socket._onDisconnect;
  if (typeof onDisconnect === 'function') {
    onDisconnect(code, reason);
  } else if (onDisconnect !== undefined) {
    onDisconnect.forEach((callback) => callback(code, reason));
  }
  server.stats.connectionsClosed++;
  server.metrics?.connectionClosed(server.path, code);
  server.untrack(socket);
  cancelDeferredClose(socket);
  rejectPendingRequests(socket);
  const subscriptions = socket._extras?.subscriptions;
  if (subscriptions !== undefined) {
    socket._extras!.subscriptions = undefined;
    for (const subscription of subscriptions) {
      subscription.unsubscribe();
    }
  }
  server.sessions?.closed(socket);
  server.rooms.leaveAll(socket);
  // Nest's handlers for this socket are bound to it (callback.bind(instance, client)); dropping them at
  // close lets the young generation collect them with the socket, where keeping them got both promoted:
  // measured, GC was most of the connection-rate gap to raw ws (bench/RESULTS.md). Dispatch never reads
  // them once the socket is not open; queued (ordered) messages hold their own handler references.
  socket._handlers = undefined;
}
