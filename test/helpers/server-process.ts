import { spawn, type ChildProcess } from 'node:child_process';

/**
 * A real server process a test starts and stops by pid (redis-server, nats-server): spawned with
 * its arguments, ready once its own check answers, `kill()` is `kill -9` (the crash drills), and
 * `restart()` starts it again with the same arguments (the same ports).
 */
export abstract class ServerProcess {
  private child: ChildProcess | undefined;

  protected abstract readonly executable: string;
  /** The command-line arguments, the same at every (re)start. */
  protected abstract args(): readonly string[];
  /** Whether the server answers yet (PING, its greeting...). */
  protected abstract answers(): Promise<boolean>;

  get pid(): number | undefined {
    return this.child?.pid;
  }

  kill(): void {
    this.child?.kill('SIGKILL');
    this.child = undefined;
  }

  /** Starts the server again; resolves once it answers. */
  async restart(): Promise<void> {
    await this.spawn();
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child === undefined || child.exitCode !== null) {
      return;
    }
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  }

  protected async spawn(): Promise<void> {
    const child = spawn(this.executable, [...this.args()], { stdio: 'ignore' });
    this.child = child;
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) {
        throw new Error(`${this.executable} exited with ${child.exitCode}`);
      }
      if (await this.answers().catch(() => false)) {
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`${this.executable} did not answer within 5 s`);
  }
}
