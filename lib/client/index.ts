export { SwitchboardClient } from './switchboard-client.js';
export type { ClientEvents, CloseInfo, ConnectionState, PushFrame, RetryInfo } from './client-events.js';
export type { ClientStats } from './client-stats.js';
export type { AbortSignalLike, RequestOptions } from './pending-requests.js';
export type { RecoveryResult, RoomPosition, RoomRecovery } from './recovery.js';
export { ClientErrorCode, SwitchboardClientError } from './client-error.js';
export type { AuthContext, ReconnectOptions, SwitchboardClientOptions } from './client-options.js';
export type { WebSocketConstructor, WebSocketLike } from './web-socket.js';
export type {
  EventMap,
  Exchange,
  MessageAck,
  MessageData,
  PushData,
  ServerRequestAck,
  ServerRequestData,
  ServerRequestEvent,
  ToClientEvent,
  ToServerEvent,
} from '../interfaces/event-map.interface.js';
