// What the cross-node nodes and the load generator agree on: the gateway
// path, the events, the room layout and the 256-byte message body.
export { HOST, epochNow } from '../lib/wire.mjs';

/** Every node serves its WebSocket (or socket.io) endpoint on this path. */
export const PATH = '/bench';

/** Client -> server: `join` (data: the room name, answered `joined`), `say` (data: the body below, broadcast to the room as `said`). */
export const EVENTS = { join: 'join', joined: 'joined', say: 'say', said: 'said' };

/** Exactly this many bytes of JSON in every broadcast's data (the envelope of each protocol comes on top). */
export const BODY_BYTES = 256;

const SKELETON = (seq, t, room) => `{"seq":${seq},"t":${t},"room":"${room}","pad":"`;
const PADS = [];

/**
 * The body of one broadcast: `{"seq":N,"t":T,"room":"room-17","pad":"xxx…"}`,
 * padded to BODY_BYTES. `seq` is the message id (unique in a run), `t` the
 * sender's clock (epoch ms, `performance.timeOrigin + performance.now()`).
 * seq and t come first so the receiver reads them without a full parse
 * (bench/load/clients/ticks.mjs).
 */
export function body(seq, t, room) {
  const head = SKELETON(seq, t, room);
  return `${head}${padFor(head)}"}`;
}

/** The same body as an object (for socket.io-client, which stringifies it into the same 256 bytes). */
export function bodyObject(seq, t, room) {
  return { seq, t, room, pad: padFor(SKELETON(seq, t, room)) };
}

function padFor(head) {
  const padLength = BODY_BYTES - head.length - 2;
  return (PADS[padLength] ??= 'x'.repeat(Math.max(0, padLength)));
}

/** Room name of room index `r`. */
export const roomName = (r) => `room-${r}`;

/**
 * Where member `m` (0..size-1) of room `r` is connected, for `nodes` nodes:
 * layout A spreads every room over all nodes (4/3/3 for 10 members on 3
 * nodes, rotating), layout B keeps every room on one node (room r on node
 * r mod nodes). Either way every node gets the same number of clients.
 */
export function nodeOf(layout, r, m, nodes) {
  if (nodes === 1) {
    return 0;
  }
  return layout === 'B' ? r % nodes : (r + m) % nodes;
}
