// Append throughput of the Redis stream history (one Lua script per append: INCR, SET NX, XADD
// MAXLEN, 3 x PEXPIRE, PUBLISH) against plain broker.publish (one PUBLISH), on a redis-server this
// script starts on a free port and stops by pid. Both are measured the same way: from the first
// call until a second broker, subscribed to the room, has received every payload (and, for
// appends, every promise resolved). Appends are kept WINDOW in flight; publishes are fire-and-forget.
//
//   node bench/history-append.mjs            (N=50000 payloads of 100 bytes, classic and sharded)
//   BENCH_N=200000 BENCH_WINDOW=2000 node bench/history-append.mjs
//
// lib/ is TypeScript: it is bundled with esbuild into a temporary file first (peers stay external),
// so this measures the checkout as it is, without `npm run build`.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const N = Number(process.env.BENCH_N ?? 50_000);
const WINDOW = Number(process.env.BENCH_WINDOW ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PAYLOAD = Buffer.alloc(100, 0x61);
const LIMITS = { size: 1000, ttl: 60_000 };

// Inside node_modules, so the bundle resolves the peers (ioredis, @nestjs/common) from the checkout.
mkdirSync('node_modules/.cache', { recursive: true });
const dir = mkdtempSync(join('node_modules/.cache', 'sb-bench-history-'));
const bundle = join(dir, 'redis.mjs');
await build({ entryPoints: ['lib/redis/index.ts'], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile: bundle, logLevel: 'error' });
const { RedisBroker } = await import(pathToFileURL(join(process.cwd(), bundle)).href);

const port = await new Promise((resolve) => {
  const server = createServer().listen(0, '127.0.0.1', () => {
    const { port } = server.address();
    server.close(() => resolve(port));
  });
});
const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
await waitForRedis(port);

const results = [];
try {
  for (const pubsub of ['classic', 'sharded']) {
    for (let round = 0; round < ROUNDS; round++) {
      results.push({ pubsub, kind: 'publish', perSecond: await measure(pubsub, 'publish', round) });
      results.push({ pubsub, kind: 'append', perSecond: await measure(pubsub, 'append', round) });
    }
  }
} finally {
  redis.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}

const lines = [`${N} payloads of ${PAYLOAD.length} bytes, ${WINDOW} appends in flight, best of ${ROUNDS}, redis-server on 127.0.0.1, node ${process.version}`];
for (const pubsub of ['classic', 'sharded']) {
  const best = (kind) => Math.max(...results.filter((result) => result.pubsub === pubsub && result.kind === kind).map((result) => result.perSecond));
  const publish = best('publish');
  const append = best('append');
  lines.push(`${pubsub.padEnd(8)} broker.publish ${Math.round(publish).toLocaleString('en')}/s   history.append ${Math.round(append).toLocaleString('en')}/s   (${(append / publish).toFixed(2)}x)`);
}
process.stdout.write(`${lines.join('\n')}\n`);

async function measure(pubsub, kind, round) {
  const prefix = `bench${process.pid}-${pubsub}-${kind}-${round}:`;
  const channel = `r\u0000/bench\u0000room-${round}`;
  const sender = new RedisBroker({ redis: `redis://127.0.0.1:${port}`, pubsub, prefix, maxBuffered: N });
  const listener = new RedisBroker({ redis: `redis://127.0.0.1:${port}`, pubsub, prefix });
  let received = 0;
  let allReceived;
  const done = new Promise((resolve) => (allReceived = resolve));
  await sender.attach(() => undefined);
  await listener.attach(() => {
    if (++received === N) {
      allReceived();
    }
  });
  await listener.subscribe([channel]);
  // Warm up: the script loaded, the connections hot.
  await sender.history.append(`${channel}-warm`, PAYLOAD, LIMITS);
  const started = process.hrtime.bigint();
  if (kind === 'publish') {
    for (let i = 0; i < N; i++) {
      sender.publish(channel, PAYLOAD);
      if (i % WINDOW === WINDOW - 1) {
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  } else {
    let next = 0;
    const lane = async () => {
      while (next < N) {
        next++;
        await sender.history.append(channel, PAYLOAD, LIMITS);
      }
    };
    await Promise.all(Array.from({ length: WINDOW }, lane));
  }
  await done;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await sender.detach();
  await listener.detach();
  return N / seconds;
}

async function waitForRedis(port) {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const ok = await new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('data', (data) => {
        socket.destroy();
        resolve(data.toString().startsWith('+PONG'));
      });
      socket.once('error', () => resolve(false));
      socket.write('PING\r\n');
    });
    if (ok) {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('redis-server did not answer');
}
