/**
 * The one spelling of channel names, used by the hub and every broker.
 * NUL separates the parts (it cannot appear in a path, and a room name with
 * one cannot collide with another name). A broker may map them onto its
 * engine's rules (NATS subjects, a key prefix).
 */

/** The traffic of one room of a gateway path: nodes with a member there listen. */
export function roomChannel(path: string, room: string): string {
  return `r\u0000${path}\u0000${room}`;
}

/** Broadcasts to every client of a gateway path: nodes serving the path listen. */
export function pathChannel(path: string): string {
  return `p\u0000${path}`;
}

/** One node's own channel: broadcasts to client ids on that node, and cluster requests and replies. */
export function nodeChannel(nodeTag: string): string {
  return `n\u0000${nodeTag}`;
}

/** Every node listens: heartbeats and cluster-wide requests. */
export function clusterChannel(): string {
  return 'c\u0000cluster';
}
