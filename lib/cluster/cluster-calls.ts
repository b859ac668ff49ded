import type { NodeError } from '../interfaces/cluster.interface.js';

/** What the other nodes said to one call. */
export interface Collected {
  readonly replies: ReadonlyArray<{ readonly node: string; readonly value: unknown }>;
  readonly errors: readonly NodeError[];
  readonly missing: readonly string[];
}

interface PendingCall {
  /** Nodes alive when the call started that have not answered yet. */
  readonly waiting: Set<string>;
  readonly replies: Array<{ node: string; value: unknown }>;
  readonly errors: NodeError[];
  readonly missing: string[];
  readonly answered: Set<string>;
  readonly timer: NodeJS.Timeout;
  readonly resolve: (collected: Collected) => void;
}

/**
 * The calls this node is waiting on. A call ends when every node it waits
 * for answered, died (see NodeDirectory), or at its timeout: whichever comes
 * first. It never rejects: late and dead nodes are reported as missing.
 */
export class ClusterCalls {
  private readonly pending = new Map<number, PendingCall>();
  private seq = 0;

  /** Registers a call before its request is published; resolves with what came back. */
  open(waitFor: readonly string[], timeout: number): { readonly id: number; readonly done: Promise<Collected> } {
    const id = ++this.seq;
    const done = new Promise<Collected>((resolve) => {
      const timer = setTimeout(() => this.finish(id), timeout);
      timer.unref();
      this.pending.set(id, { waiting: new Set(waitFor), replies: [], errors: [], missing: [], answered: new Set(), timer, resolve });
    });
    if (waitFor.length === 0) {
      this.finish(id);
    }
    return { id, done };
  }

  /** A node's reply; a late, unknown or repeated one is ignored. */
  reply(id: number, node: string, value: unknown, error: { code: string; message: string } | undefined): void {
    const call = this.pending.get(id);
    if (call === undefined || call.answered.has(node) || call.missing.includes(node)) {
      return; // Unknown, repeated, or from a node already reported missing (it cannot be both).
    }
    call.answered.add(node);
    call.waiting.delete(node);
    if (error !== undefined) {
      call.errors.push({ node, code: String(error.code), message: String(error.message) });
    } else {
      call.replies.push({ node, value });
    }
    if (call.waiting.size === 0) {
      this.finish(id);
    }
  }

  /** A node died or left: no call waits for it any longer. */
  nodeGone(node: string): void {
    for (const [id, call] of this.pending) {
      if (call.waiting.delete(node)) {
        call.missing.push(node);
        if (call.waiting.size === 0) {
          this.finish(id);
        }
      }
    }
  }

  /** Forgets a call whose request could not be sent. */
  abandon(id: number): void {
    const call = this.pending.get(id);
    if (call !== undefined) {
      this.pending.delete(id);
      clearTimeout(call.timer);
    }
  }

  /** Ends every call now (the hub stops). */
  finishAll(): void {
    for (const id of [...this.pending.keys()]) {
      this.finish(id);
    }
  }

  private finish(id: number): void {
    const call = this.pending.get(id);
    if (call === undefined) {
      return;
    }
    this.pending.delete(id);
    clearTimeout(call.timer);
    call.resolve({ replies: call.replies, errors: call.errors, missing: [...call.missing, ...call.waiting] });
  }
}
