import type { Targeting } from '../broker/broker.interface.js';
import { forEachRecipient } from '../broadcast/fan-out.js';
import { ErrorCode } from '../errors/error-codes.js';
import type { ClientAck, ClusterSocket } from '../interfaces/cluster.interface.js';
import type { SwitchboardServer } from '../socket/switchboard-server.js';
import type { SwitchboardSocket } from '../socket/switchboard-socket.js';
import type { ClusterArguments, ClusterOperation } from './control-message.js';

/**
 * Runs a cluster-wide operation on this node's own sockets: the same code
 * for the asking node's share and for a request from another node. Sockets
 * are selected first, then acted on, so a join or a close cannot disturb the
 * walk over a room.
 */
export async function runLocally(
  servers: readonly SwitchboardServer[],
  op: Exclude<ClusterOperation, 'serverSideEmit'>,
  targeting: Targeting,
  args: ClusterArguments,
  timeout: number,
  nodeTag: string,
): Promise<unknown> {
  const rooms = Array.isArray(args.rooms) ? args.rooms.filter((room): room is string => typeof room === 'string' && room.length > 0) : [];
  const selected: SwitchboardSocket[] = [];
  for (const server of servers) {
    forEachRecipient(server, targeting, (socket) => selected.push(socket));
  }
  switch (op) {
    case 'count':
      return selected.length;
    case 'fetch':
      return selected.map((socket) => describeSocket(socket, nodeTag));
    case 'join': {
      // Resolved when the broker confirmed the rooms: after socketsJoin, broadcasts from anywhere reach them.
      await Promise.all(selected.filter((socket) => socket.readyState === socket.OPEN).map((socket) => socket.join(rooms)));
      return selected.length;
    }
    case 'leave':
      for (const socket of selected) {
        for (const room of rooms) {
          socket.leave(room);
        }
      }
      return selected.length;
    case 'disconnect':
      for (const socket of selected) {
        // The asking node checked the code; a peer's malformed one falls back to a normal close.
        const code = typeof args.code === 'number' && (args.code === 1000 || (args.code >= 3000 && args.code <= 4999)) ? args.code : 1000;
        socket.close(code, typeof args.reason === 'string' ? args.reason.slice(0, 123) : undefined);
      }
      return selected.length;
    case 'ack':
      return Promise.all(selected.map((socket) => ackOf(socket, args, timeout, nodeTag)));
  }
}

function describeSocket(socket: SwitchboardSocket, node: string): ClusterSocket {
  const { path, params, query, headers, remoteAddress } = socket.handshake;
  return { id: socket.id, node, rooms: [...socket.rooms], data: socket.data, handshake: { path, params, query, headers, remoteAddress } };
}

async function ackOf(socket: SwitchboardSocket, args: ClusterArguments, timeout: number, node: string): Promise<ClientAck> {
  try {
    const data = await socket.request(args.event ?? '', args.data, { timeout });
    return { id: socket.id, node, status: 'ok', data };
  } catch (error) {
    const { code, message } = error as { code?: unknown; message?: unknown };
    return { id: socket.id, node, status: 'error', error: { code: typeof code === 'string' ? code : ErrorCode.INTERNAL, message: String(message) } };
  }
}
