// What the cross-node benchmark compares. A stack is a server kind for
// node.mjs, how many nodes run it, the engine between them and the
// protocol the load generator speaks. socketio-classic is the reference:
// every ratio is against it, in the same run.
export const REFERENCE = 'socketio-classic';

export const STACKS = [
  {
    name: 'switchboard-redis',
    label: 'SwitchboardAdapter + RedisBroker, classic pub/sub (PUBLISH/SUBSCRIBE), 3 nodes',
    nodes: 3,
    engine: 'redis',
    node: { stack: 'switchboard', broker: 'redis' },
    protocol: 'ws',
  },
  {
    name: 'switchboard-redis-sharded',
    label: 'SwitchboardAdapter + RedisBroker, sharded pub/sub (SPUBLISH/SSUBSCRIBE), 3 nodes',
    nodes: 3,
    engine: 'redis',
    node: { stack: 'switchboard', broker: 'redis-sharded' },
    protocol: 'ws',
  },
  {
    name: 'switchboard-nats',
    label: 'SwitchboardAdapter + NatsBroker, 3 nodes',
    nodes: 3,
    engine: 'nats',
    node: { stack: 'switchboard', broker: 'nats' },
    protocol: 'ws',
  },
  {
    name: 'socketio-classic',
    label: 'socket.io 4.8 + @socket.io/redis-adapter createAdapter (PUBLISH/PSUBSCRIBE), 3 nodes',
    nodes: 3,
    engine: 'redis',
    node: { stack: 'socketio', adapter: 'classic' },
    protocol: 'sio',
  },
  {
    name: 'socketio-sharded',
    label: 'socket.io 4.8 + @socket.io/redis-adapter createShardedAdapter (SPUBLISH/SSUBSCRIBE, dynamic), 3 nodes',
    nodes: 3,
    engine: 'redis',
    node: { stack: 'socketio', adapter: 'sharded' },
    protocol: 'sio',
  },
  {
    name: 'switchboard-single',
    label: 'SwitchboardAdapter, one process with every client (single-node ceiling)',
    nodes: 1,
    engine: null,
    node: { stack: 'switchboard', broker: 'memory' },
    protocol: 'ws',
  },
  {
    name: 'socketio-single',
    label: 'socket.io 4.8, one process with every client, no adapter (single-node ceiling)',
    nodes: 1,
    engine: null,
    node: { stack: 'socketio', adapter: 'none' },
    protocol: 'sio',
  },
  // Experiments, only with XNODE_STACKS: the same stacks with ioredis' enableAutoPipelining on the
  // publishing connection (every PUBLISH of one tick in one write to Redis).
  {
    name: 'switchboard-redis-autopipe',
    label: 'SwitchboardAdapter + RedisBroker, classic pub/sub, ioredis enableAutoPipelining, 3 nodes',
    nodes: 3,
    engine: 'redis',
    node: { stack: 'switchboard', broker: 'redis', autoPipelining: true },
    protocol: 'ws',
    experiment: true,
  },
  {
    name: 'socketio-classic-autopipe',
    label: 'socket.io 4.8 + @socket.io/redis-adapter createAdapter, pub client with ioredis enableAutoPipelining, 3 nodes',
    nodes: 3,
    engine: 'redis',
    node: { stack: 'socketio', adapter: 'classic', autoPipelining: true },
    protocol: 'sio',
    experiment: true,
  },
  // Experiments: the adapter's heartbeat off (it pings every client of a gateway in one sweep, every 30 s).
  {
    name: 'switchboard-redis-noheartbeat',
    label: 'SwitchboardAdapter + RedisBroker, classic pub/sub, heartbeatInterval: 0, 3 nodes',
    nodes: 3,
    engine: 'redis',
    node: { stack: 'switchboard', broker: 'redis', heartbeatInterval: 0 },
    protocol: 'ws',
    experiment: true,
  },
  {
    name: 'switchboard-single-noheartbeat',
    label: 'SwitchboardAdapter, one process with every client, heartbeatInterval: 0',
    nodes: 1,
    engine: null,
    node: { stack: 'switchboard', broker: 'memory', heartbeatInterval: 0 },
    protocol: 'ws',
    experiment: true,
  },
];

/** Layout B (each room on one node) only means something with several nodes. */
export const LAYOUT_B_STACKS = ['switchboard-redis', 'switchboard-nats', 'socketio-classic', 'socketio-sharded'];

/** The pair every run measures (medians of the runs): ours on Redis against socket.io classic, layout A. */
export const HEADLINE = ['switchboard-redis', 'socketio-classic'];

export function stackNamed(name) {
  const stack = STACKS.find((candidate) => candidate.name === name);
  if (stack === undefined) {
    throw new Error(`unknown stack "${name}" (known: ${STACKS.map((candidate) => candidate.name).join(', ')})`);
  }
  return stack;
}
