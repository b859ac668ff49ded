import type { ClusterNode } from '../interfaces/cluster.interface.js';

/**
 * Which other nodes are alive, by their heartbeats. A node is alive from
 * its first message until `nodeTimeout` ms pass without one, or it says
 * goodbye. `sweep()` runs on every heartbeat tick, so a dead node is dropped
 * at most `nodeTimeout + heartbeatInterval` after its last heartbeat.
 */
export class NodeDirectory {
  private readonly lastSeen = new Map<string, number>();
  private readonly onDeath = new Set<(node: string) => void>();

  constructor(
    private readonly selfTag: string,
    private readonly nodeTimeout: number,
  ) {}

  /** A sign of life from a node; true if it was not known alive before. */
  seen(node: string): boolean {
    if (node === this.selfTag) {
      return false;
    }
    const known = this.lastSeen.has(node);
    this.lastSeen.set(node, Date.now());
    return !known;
  }

  /** The node left cleanly (or was found dead). */
  gone(node: string): void {
    if (this.lastSeen.delete(node)) {
      for (const listener of this.onDeath) {
        listener(node);
      }
    }
  }

  /** Drops the nodes whose last heartbeat is older than `nodeTimeout`. */
  sweep(now = Date.now()): void {
    for (const [node, at] of this.lastSeen) {
      if (now - at > this.nodeTimeout) {
        this.gone(node);
      }
    }
  }

  /** The other nodes alive now. */
  alive(): string[] {
    return [...this.lastSeen.keys()];
  }

  isAlive(node: string): boolean {
    return this.lastSeen.has(node);
  }

  /** Calls `listener` when a node dies or leaves; returns the unsubscribe function. */
  whenGone(listener: (node: string) => void): () => void {
    this.onDeath.add(listener);
    return () => this.onDeath.delete(listener);
  }

  list(): ClusterNode[] {
    const now = Date.now();
    return [
      { node: this.selfTag, self: true, lastSeenAgo: 0 },
      ...[...this.lastSeen].map(([node, at]) => ({ node, self: false, lastSeenAgo: now - at })),
    ];
  }

  clear(): void {
    this.lastSeen.clear();
  }
}
