export {
  SwitchboardClient,
  type AbortSignalLike,
  type ClientEvents,
  type ClientStats,
  type CloseInfo,
  type ConnectionState,
  type PushFrame,
  type RecoveryResult,
  type RequestOptions,
  type RetryInfo,
  type RoomPosition,
  type RoomRecovery,
} from './switchboard-client.js';
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
