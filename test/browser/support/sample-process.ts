import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from '../../helpers/ports.js';
import { ROOT } from './paths.js';

export interface SampleOptions {
  /** The client bundle the page loads (SAMPLE_CLIENT_JS). */
  readonly clientJs: string;
  readonly port?: number;
  /** Shares rooms through Redis. */
  readonly redisUrl?: string;
  /** SAMPLE_PEERS: the other instances the page may reconnect to. */
  readonly peers?: readonly number[];
}

const START_TIMEOUT = 30_000;
const STOP_TIMEOUT = 5_000;

/**
 * One instance of the sample app (sample/src/main.ts, from its sources via
 * support/register-ts.mjs) in a child process on 127.0.0.1: started and
 * stopped by pid, `kill()` is SIGKILL. Its output is kept (the last lines)
 * for a failing test's message.
 */
export class SampleProcess {
  private readonly output: string[] = [];
  private exited: Promise<void>;

  private constructor(
    readonly port: number,
    private readonly child: ChildProcess,
  ) {
    const keep = (chunk: Buffer): void => {
      this.output.push(...chunk.toString().split('\n').filter(Boolean));
      this.output.splice(0, Math.max(0, this.output.length - 200));
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  static async start(options: SampleOptions): Promise<SampleProcess> {
    const port = options.port ?? (await freePort());
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), HOST: '127.0.0.1', SAMPLE_CLIENT_JS: options.clientJs, SAMPLE_EXIT_WITH_PARENT: '1', NO_COLOR: '1' };
    delete env.NODE_OPTIONS; // Jest's --experimental-vm-modules
    delete env.REDIS_URL;
    if (options.redisUrl !== undefined) {
      env.REDIS_URL = options.redisUrl;
    }
    if (options.peers !== undefined) {
      env.SAMPLE_PEERS = options.peers.map((peer) => `127.0.0.1:${peer}`).join(',');
    }
    const child = spawn(process.execPath, ['--enable-source-maps', '--import', './test/browser/support/register-ts.mjs', 'sample/src/main.ts'], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const sample = new SampleProcess(port, child);
    await sample.ready();
    return sample;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get ws(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last lines it printed. */
  log(): string {
    return this.output.join('\n');
  }

  /** `kill -9`: no shutdown hook runs, its sockets die with it. */
  async kill(): Promise<void> {
    if (this.alive) {
      this.child.kill('SIGKILL');
    }
    await this.exited;
  }

  /** SIGTERM (Nest's shutdown hooks close every client with 1001), SIGKILL after 5 s. */
  async stop(): Promise<void> {
    if (!this.alive) {
      return;
    }
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_TIMEOUT);
    await this.exited;
    clearTimeout(timer);
  }

  /** Until GET /config.json answers (the app listens once every module is up). */
  private async ready(): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT;
    while (Date.now() < deadline) {
      if (!this.alive) {
        throw new Error(`the sample on port ${this.port} exited:\n${this.log()}`);
      }
      const answered = await fetch(`${this.url}/config.json`, { signal: AbortSignal.timeout(1000) }).then(
        (response) => response.ok,
        () => false,
      );
      if (answered) {
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await this.kill();
    throw new Error(`the sample on port ${this.port} did not answer within ${START_TIMEOUT} ms:\n${this.log()}`);
  }
}
