// The baseline: the dispatch every adapter performs, written by hand on `ws`
// with nothing else: JSON.parse, a Map lookup of the event, the handler
// returns {event, data}, JSON.stringify, send. Listeners are module-level
// functions (no closure per connection), as a careful hand-written server would do.
//
// For fan-out (`app: 'fanout'`) the same dispatch gets a `join` handler and
// hand-written rooms (Map<room, Set<ws>>); a broadcast does JSON.stringify
// once, Buffer.from once, then ws.send(buffer) to every member, as a text
// frame like the adapters send. The echo server is left exactly as it was,
// so its idle memory is not changed by rooms it does not use.
//
// Two variants share this dispatch (see their files): raw-ws-corked.mjs
// (replies of one tick leave in one write: the honest echo ceiling) and
// raw-ws-express.mjs (the same server on an Express HTTP server, as the
// Nest apps are).
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';
import { EVENT, FANOUT, PATH } from '../lib/wire.mjs';
import { listen } from './listen.mjs';

const handlers = new Map([[EVENT, (data) => ({ event: EVENT, data })]]);

function onMessage(frame) {
  let message;
  try {
    message = JSON.parse(frame.toString());
  } catch {
    return;
  }
  const handler = handlers.get(message?.event);
  if (handler === undefined) {
    return;
  }
  const reply = handler(message.data, this);
  if (reply !== undefined && reply !== null) {
    this.send(JSON.stringify(reply));
  }
}

// Without an 'error' listener a bad frame would crash the process.
function onError() {}

// ---- Fan-out: hand-written rooms.

const rooms = new Map();
/** A member's rooms, for leaving them on close; only members get an entry (and a close listener). */
const roomsOf = new WeakMap();
const TEXT = { binary: false };

function join(room, ws) {
  if (typeof room !== 'string' || room.length === 0) {
    return undefined;
  }
  let members = rooms.get(room);
  if (members === undefined) {
    members = new Set();
    rooms.set(room, members);
  }
  members.add(ws);
  let joined = roomsOf.get(ws);
  if (joined === undefined) {
    joined = new Set();
    roomsOf.set(ws, joined);
    ws.once('close', leaveAll);
  }
  joined.add(room);
  return { event: FANOUT.joined, data: room };
}

function leaveAll() {
  for (const room of roomsOf.get(this) ?? []) {
    const members = rooms.get(room);
    if (members?.delete(this) && members.size === 0) {
      rooms.delete(room);
    }
  }
  roomsOf.delete(this);
}

function broadcast(room, event, data) {
  const members = rooms.get(room);
  if (members === undefined) {
    return 0;
  }
  const buffer = Buffer.from(JSON.stringify({ event, data }));
  for (const ws of members) {
    ws.send(buffer, TEXT);
  }
  return members.size;
}

export const start = (options = {}) => startRawWs(options);

/**
 * `onMessage`: the message listener (the naive one above by default);
 * `createHttpServer`: the HTTP server the WebSocket server is attached to
 * (a plain `http.createServer` answering 426 by default).
 */
export async function startRawWs({ app = 'echo', onMessage: messageListener = onMessage, createHttpServer = plainHttpServer } = {}) {
  if (app === 'fanout') {
    handlers.set(FANOUT.join, join);
  }
  const httpServer = createHttpServer();
  const wss = new WebSocketServer({ noServer: true });
  httpServer.on('upgrade', (request, socket, head) => {
    if (request.url !== PATH) {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      ws.on('error', onError);
      ws.on('message', messageListener);
    });
  });
  await listen(httpServer);
  return app === 'fanout' ? { httpServer, fanout: { broadcast, members: (room) => rooms.get(room)?.size ?? 0 } } : { httpServer };
}

function plainHttpServer() {
  return createServer((_request, response) => {
    response.writeHead(426).end();
  });
}
