import type { ClusterAnswer, ClusterOperations } from '../interfaces/cluster.interface.js';

const EMPTY: ClusterAnswer = { nodes: [], missingNodes: [], errors: [], complete: true };

/** Cluster operations of a target with no node behind it (the mock socket's recorder): every answer is empty and complete. */
export const NO_CLUSTER: ClusterOperations = {
  fetchSockets: () => Promise.resolve({ ...EMPTY, sockets: [] }),
  countSockets: () => Promise.resolve({ ...EMPTY, count: 0 }),
  socketsJoin: () => Promise.resolve({ ...EMPTY, count: 0 }),
  socketsLeave: () => Promise.resolve({ ...EMPTY, count: 0 }),
  disconnectSockets: () => Promise.resolve({ ...EMPTY, count: 0 }),
  emitWithAck: () => Promise.resolve({ ...EMPTY, acks: [] }),
};
