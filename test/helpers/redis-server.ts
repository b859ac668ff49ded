import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { freePort } from './ports.js';
import { ServerProcess } from './server-process.js';

/**
 * A real `redis-server` for a test, on a free port of 127.0.0.1, stopped by
 * pid. No persistence. `kill()` is `kill -9` (the crash drill); `restart()`
 * starts it again on the same port.
 */
export class RedisProcess extends ServerProcess {
  protected readonly executable = 'redis-server';

  private constructor(
    readonly port: number,
    private readonly extraArgs: readonly string[],
  ) {
    super();
  }

  static async start(extraArgs: readonly string[] = [], port?: number): Promise<RedisProcess> {
    const redis = new RedisProcess(port ?? (await freePort()), extraArgs);
    await redis.spawn();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Sends one command in RESP and returns the raw reply text. */
  async command(...args: string[]): Promise<string> {
    const request = `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`;
    return new Promise((resolve, reject) => {
      const socket = connect(this.port, '127.0.0.1');
      let reply = '';
      const timer = setTimeout(() => {
        socket.destroy();
        resolve(reply);
      }, 2000);
      socket.on('data', (chunk) => {
        reply += chunk.toString();
        if (completeReply(reply, 0) === reply.length) {
          clearTimeout(timer);
          socket.destroy();
          resolve(reply);
        }
      });
      socket.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      socket.write(request);
    });
  }

  /** How many channels (classic) or shard channels (sharded) Redis has subscribers for, matching a pattern. */
  async channelCount(sharded: boolean, pattern = '*'): Promise<number> {
    const reply = await this.command('PUBSUB', sharded ? 'SHARDCHANNELS' : 'CHANNELS', pattern);
    const header = /^\*(\d+)/.exec(reply);
    return header === null ? 0 : Number(header[1]);
  }

  protected args(): readonly string[] {
    return ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no', ...this.extraArgs];
  }

  protected async answers(): Promise<boolean> {
    return (await this.command('PING')).startsWith('+PONG');
  }
}

/** Where a RESP value that starts at `at` ends, or -1 while it is incomplete. */
function completeReply(text: string, at: number): number {
  const lineEnd = text.indexOf('\r\n', at);
  if (lineEnd === -1) {
    return -1;
  }
  const type = text[at];
  const value = text.slice(at + 1, lineEnd);
  let next = lineEnd + 2;
  if (type === '$') {
    const length = Number(value);
    return length < 0 ? next : text.length >= next + length + 2 ? next + length + 2 : -1;
  }
  if (type === '*') {
    for (let i = 0; i < Number(value); i++) {
      next = completeReply(text, next);
      if (next === -1) {
        return -1;
      }
    }
  }
  return next;
}

/**
 * Three `redis-server` processes in cluster mode on free ports (masters only,
 * slots split by `redis-cli --cluster create`), in a temporary directory.
 */
export class RedisClusterProcesses {
  private constructor(
    readonly nodes: RedisProcess[],
    private readonly dir: string,
  ) {}

  static async start(): Promise<RedisClusterProcesses> {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'sb-redis-cluster-'));
    const nodes: RedisProcess[] = [];
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      nodes.push(
        await RedisProcess.start(['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--cluster-node-timeout', '2000', '--dir', dir], port),
      );
    }
    await new Promise<void>((resolve, reject) => {
      const create = spawn('redis-cli', ['--cluster', 'create', ...nodes.map((node) => `127.0.0.1:${node.port}`), '--cluster-replicas', '0', '--cluster-yes'], {
        stdio: 'ignore',
      });
      create.once('error', reject);
      create.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`redis-cli --cluster create exited with ${code}`))));
    });
    const cluster = new RedisClusterProcesses(nodes, dir);
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const states = await Promise.all(nodes.map((node) => node.command('CLUSTER', 'INFO')));
      if (states.every((state) => state.includes('cluster_state:ok'))) {
        return cluster;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error('the Redis cluster did not reach cluster_state:ok');
  }

  /** Shard channels subscribed on all masters, matching a pattern. */
  async shardChannelCount(pattern = '*'): Promise<number> {
    const counts = await Promise.all(this.nodes.map((node) => node.channelCount(true, pattern)));
    return counts.reduce((sum, count) => sum + count, 0);
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.stop()));
    const { rmSync } = await import('node:fs');
    rmSync(this.dir, { recursive: true, force: true });
  }
}
