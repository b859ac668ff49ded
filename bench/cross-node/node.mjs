// One server node of the cross-node benchmark:
// `node bench/cross-node/node.mjs '<options as JSON>'`, started (pinned to
// the server core) by run.mjs. A Nest 12 application with one gateway on
// PATH and two handlers, the same for every stack:
//
//   join (data: room)  -> `await client.join(room)`, answers `joined`
//   say  (data: body)  -> `client.to(body.room).emit('said', body)`
//
// so every broadcast goes to the other 9 members of the sender's room,
// wherever they are connected. Options:
//   { stack: 'switchboard', broker: 'redis' | 'redis-sharded' | 'nats' | 'memory', redisUrl, natsUrl, dist }
//   { stack: 'socketio', adapter: 'classic' | 'sharded' | 'none', redisUrl }
// plus `autoPipelining: true` (Redis stacks): ioredis' enableAutoPipelining on the publishing client.
// `dist`: the built nestjs-switchboard (dist/esm) to import, see build.mjs.
// socket.io runs as a Nest app too (@nestjs/platform-socket.io, IoAdapter
// with the redis adapter set in createIOServer, as Nest's docs show), so both
// sides pay the same Nest dispatch per message.
//
// Over IPC it answers `stats` (what this node received from the broker and
// how much of it had no recipient here; see counters below), `cpuProbe`,
// and `cpuProfileStart` / `cpuProfileStop` (V8 CPU profile of a window).
import 'reflect-metadata';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConnectedSocket, MessageBody, SubscribeMessage, WebSocketGateway, WebSocketServer } from '@nestjs/websockets';
import { probeCpuSpeed } from '../lib/cpu-probe.mjs';
import { serveRequests } from '../lib/ipc.mjs';
import { EVENTS, HOST, PATH } from './wire.mjs';

const options = JSON.parse(process.argv[2] ?? '{}');

/** Broadcasts this node originated (one per `say`). */
let originated = 0;
/** Joins handled. */
let joins = 0;

/** Applies a method decorator the way TypeScript's emitted code does (no build step for the bench). */
function decorateMethod(target, name, ...decorators) {
  const descriptor = Object.getOwnPropertyDescriptor(target.prototype, name);
  for (const decorator of decorators) {
    decorator(target.prototype, name, descriptor);
  }
}

/** The gateway every stack runs: exactly what a user writes. */
function gatewayClass() {
  class CrossNodeGateway {
    server;

    async join(client, room) {
      joins++;
      // SwitchboardAdapter: resolves once the broker confirmed the room's subscription.
      // socket.io: join() returns void (classic) or the adapter's promise.
      await client.join(room);
      return { event: EVENTS.joined, data: room };
    }

    say(client, body) {
      originated++;
      client.to(body.room).emit(EVENTS.said, body);
    }
  }
  WebSocketGateway({ path: PATH })(CrossNodeGateway);
  WebSocketServer()(CrossNodeGateway.prototype, 'server');
  for (const [method, event] of [
    ['join', EVENTS.join],
    ['say', EVENTS.say],
  ]) {
    decorateMethod(CrossNodeGateway, method, SubscribeMessage(event));
    ConnectedSocket()(CrossNodeGateway.prototype, method, 0);
    MessageBody()(CrossNodeGateway.prototype, method, 1);
  }
  return CrossNodeGateway;
}

async function startSwitchboard() {
  const dist = options.dist;
  const lib = await import(pathToFileURL(join(dist, 'index.js')).href);
  let broker;
  if (options.broker === 'redis' || options.broker === 'redis-sharded') {
    const { RedisBroker } = await import(pathToFileURL(join(dist, 'redis', 'index.js')).href);
    // `autoPipelining`: ioredis' enableAutoPipelining (the commands of one tick in one write), passed
    // through the broker's ioredis options: an experiment, not the default.
    const { hostname, port } = new URL(options.redisUrl);
    const redis = options.autoPipelining ? { host: hostname, port: Number(port), enableAutoPipelining: true } : options.redisUrl;
    broker = new RedisBroker({ redis, pubsub: options.broker === 'redis-sharded' ? 'sharded' : 'classic' });
  } else if (options.broker === 'nats') {
    const { NatsBroker } = await import(pathToFileURL(join(dist, 'nats', 'index.js')).href);
    broker = new NatsBroker({ servers: options.natsUrl });
  } else if (options.broker !== 'memory') {
    throw new Error(`unknown broker ${options.broker}`);
  }
  const Gateway = gatewayClass();
  class AppModule {}
  // `memory`: the module's default in-memory broker, alone on its bus (one process: no payload is built for other nodes).
  Module({ imports: [lib.SwitchboardModule.forRoot(broker === undefined ? {} : { broker })], providers: [Gateway] })(AppModule);
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'], abortOnError: false });
  // `heartbeatInterval` (experiments): the adapter's heartbeat period, 0 = off; default: the adapter's (30 s).
  app.useWebSocketAdapter(new lib.SwitchboardAdapter(app, options.heartbeatInterval === undefined ? {} : { heartbeatInterval: options.heartbeatInterval }));
  await app.listen(0, HOST);
  const gateway = app.get(Gateway);
  const broadcaster = app.get(lib.Broadcaster);
  return {
    httpServer: app.getHttpServer(),
    stats() {
      const cluster = broadcaster.clusterStats();
      const gateways = broadcaster.getStats();
      const sum = (key) => gateways.reduce((total, stats) => total + (stats[key] ?? 0), 0);
      // The hub's verdict on every broadcast payload that arrived (the broker also carries the
      // cluster's own control messages, heartbeats among them: counted apart).
      const broadcastReceptions = cluster.received + cluster.ownEchoes + cluster.receivedWithoutRecipient + (cluster.receivedAllExcluded ?? 0) + cluster.duplicateCopies;
      return {
        connections: sum('connections'),
        rooms: sum('rooms'),
        receptions: broadcastReceptions,
        brokerReceived: cluster.broker.received,
        controlMessages: cluster.broker.received - broadcastReceptions - cluster.malformed,
        ownEchoes: cluster.ownEchoes,
        delivered: cluster.received,
        withoutRecipient: cluster.receivedWithoutRecipient,
        allExcluded: cluster.receivedAllExcluded,
        duplicateCopies: cluster.duplicateCopies,
        malformed: cluster.malformed,
        published: cluster.published,
        brokerPublished: cluster.broker.published,
        publishDropped: cluster.broker.publishDropped,
        reconnects: cluster.broker.reconnects,
        subscriptions: cluster.broker.subscriptions,
        deliveries: sum('deliveries'),
        skippedDeliveries: sum('skippedDeliveries'),
        slowConsumerSkips: sum('slowConsumerSkips'),
        slowConsumerCloses: sum('slowConsumerCloses'),
        handlerErrors: sum('handlerErrors'),
      };
    },
    roomsHere: () => gateway.server.rooms.size,
  };
}

async function startSocketIo() {
  const { IoAdapter } = await import('@nestjs/platform-socket.io');
  const counters = { receptions: 0, withoutRecipient: 0, reconnects: 0 };
  let pub;
  let sub;
  let adapterFactory;
  let namespaceAdapter = () => undefined;
  if (options.adapter === 'classic' || options.adapter === 'sharded') {
    const { Redis } = await import('ioredis');
    const { createAdapter, createShardedAdapter } = await import('@socket.io/redis-adapter');
    pub = new Redis(options.redisUrl, options.autoPipelining ? { enableAutoPipelining: true } : {});
    sub = pub.duplicate();
    await Promise.all([pub, sub].map((client) => new Promise((resolve) => (client.status === 'ready' ? resolve() : client.once('ready', resolve)))));
    for (const client of [pub, sub]) {
      client.on('error', () => {});
      client.on('reconnecting', () => counters.reconnects++);
    }
    adapterFactory = options.adapter === 'classic' ? createAdapter(pub, sub) : createShardedAdapter(pub, sub);
    // What this node's subscriber receives, and how much of it is for a room with no member
    // here: one counting listener beside the adapter's own (a string slice and a Map lookup).
    // The channel of a one-room broadcast is `socket.io#/#<room>#` in both modes.
    const prefix = 'socket.io#/#';
    const count = (channel) => {
      counters.receptions++;
      const name = channel.toString('latin1');
      if (name.startsWith(prefix) && name.length > prefix.length) {
        const room = name.slice(prefix.length, -1);
        if (!(namespaceAdapter()?.rooms.has(room) ?? false)) {
          counters.withoutRecipient++;
        }
      }
    };
    if (options.adapter === 'classic') {
      sub.on('pmessageBuffer', (_pattern, channel) => count(channel));
    } else {
      sub.on('smessageBuffer', (channel) => count(channel));
    }
  } else if (options.adapter !== 'none') {
    throw new Error(`unknown socket.io adapter ${options.adapter}`);
  }
  class RedisIoAdapter extends IoAdapter {
    createIOServer(port, serverOptions) {
      const server = super.createIOServer(port, serverOptions);
      if (adapterFactory !== undefined) {
        server.adapter(adapterFactory);
      }
      return server;
    }
  }
  const Gateway = gatewayClass();
  class AppModule {}
  Module({ providers: [Gateway] })(AppModule);
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'], abortOnError: false });
  app.useWebSocketAdapter(new RedisIoAdapter(app));
  await app.listen(0, HOST);
  const gateway = app.get(Gateway);
  namespaceAdapter = () => gateway.server?.of('/').adapter;
  return {
    httpServer: app.getHttpServer(),
    stats() {
      const adapter = namespaceAdapter();
      let rooms = 0;
      for (const room of adapter?.rooms.keys() ?? []) {
        if (!adapter.sids.has(room)) {
          rooms++; // Not a socket's own room.
        }
      }
      return {
        connections: adapter?.sids.size ?? 0,
        rooms,
        // Every broadcast of a node reaches its own subscriber too (the adapter drops it by uid): in
        // classic mode every node listens on every room, in sharded (dynamic) mode the sender's node
        // listens on its own room, since the sender is a member.
        receptions: counters.receptions,
        ownEchoes: adapterFactory !== undefined ? originated : 0,
        withoutRecipient: counters.withoutRecipient,
        reconnects: counters.reconnects,
      };
    },
  };
}

const node = options.stack === 'socketio' ? await startSocketIo() : await startSwitchboard();
const { port } = node.httpServer.address();

// GC pauses of this process (PerformanceObserver 'gc' entries), collected between two `gcWindow` requests.
let gcPauses = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gcPauses.push({ ms: entry.duration, kind: entry.detail?.kind ?? entry.kind });
  }
}).observe({ entryTypes: ['gc'] });

/** This process's context switches so far (all threads: /proc/self/status counts the main thread only). */
function contextSwitches() {
  let voluntary = 0;
  let involuntary = 0;
  try {
    for (const task of readdirSync('/proc/self/task')) {
      const status = readFileSync(`/proc/self/task/${task}/status`, 'utf8');
      voluntary += Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      involuntary += Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    }
  } catch {
    // Not Linux.
  }
  return { voluntarySwitches: voluntary, involuntarySwitches: involuntary };
}

let profiler;
function post(method, params) {
  return new Promise((resolve, reject) => profiler.post(method, params, (error, result) => (error ? reject(error) : resolve(result))));
}

serveRequests(
  {
    stats: () => ({ originated, joins, ...node.stats(), ...contextSwitches(), memory: process.memoryUsage().rss }),
    cpuProbe: ({ windows = 4, windowMs = 100 } = {}) => probeCpuSpeed({ windows, windowMs, gapMs: 50 }),
    /** The GC pauses since the previous call (count, total, longest, major collections), then starts over. */
    gcWindow() {
      const pauses = gcPauses;
      gcPauses = [];
      // NODE_PERFORMANCE_GC_MAJOR = 4 (mark-compact).
      return { count: pauses.length, totalMs: pauses.reduce((sum, pause) => sum + pause.ms, 0), maxMs: Math.max(0, ...pauses.map((pause) => pause.ms)), major: pauses.filter((pause) => pause.kind === 4).length };
    },
    async cpuProfileStart({ intervalMicros = 200 }) {
      const { Session } = await import('node:inspector');
      profiler = new Session();
      profiler.connect();
      await post('Profiler.enable');
      await post('Profiler.setSamplingInterval', { interval: intervalMicros });
      await post('Profiler.start');
    },
    async cpuProfileStop({ file }) {
      const { profile } = await post('Profiler.stop');
      profiler.disconnect();
      profiler = undefined;
      const { writeFileSync } = await import('node:fs');
      writeFileSync(file, JSON.stringify(profile));
      return { file, samples: profile.samples.length };
    },
    // Nothing is measured after this: exiting closes every socket and the port.
    stop() {},
  },
  { port, stack: options.stack },
);
