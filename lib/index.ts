export { SwitchboardAdapter } from './adapter/switchboard.adapter.js';
export { SwitchboardServer } from './socket/switchboard-server.js';
export { SwitchboardSocket, type SocketData } from './socket/switchboard-socket.js';
export type { GatewayStatsSnapshot } from './stats/gateway-stats.js';
export { BroadcastOperator, type ClientRef, type ExceptTarget, type RoomTarget } from './broadcast/broadcast-operator.js';
// The broker seam: what a broker implements (see test/conformance/broker.suite.ts).
export type { BroadcastPacket, Broker, BrokerReceiver, BrokerStats, Targeting } from './broker/broker.interface.js';
export { nodeChannel, pathChannel, roomChannel } from './broker/channel.js';
export type { ClusterStats } from './hub/switchboard-hub.js';
export type {
  ClientAck,
  ClusterAcks,
  ClusterAnswer,
  ClusterCallOptions,
  ClusterCount,
  ClusterNode,
  ClusterOptions,
  ClusterSocket,
  ClusterSockets,
  NodeError,
  NodeReply,
  ServerSideAcks,
  ServerSideHandler,
} from './interfaces/cluster.interface.js';
export { clusterChannel } from './broker/channel.js';
export type { RecoveryOptions } from './interfaces/recovery.interface.js';
// Metrics: the hooks and the exporter contract; the exporters themselves are in nestjs-switchboard/metrics (optional peers).
export type { MetricsRecorder } from './interfaces/metrics.interface.js';
export type { MetricsExporter, MetricsHttpServer, MetricsSource } from './metrics/metrics-exporter.js';
export type { StreamPosition, HistoryLimits, HistoryRead, HistoryEntry, SessionRecord, StreamHistory } from './broker/stream-history.interface.js';
export { InMemoryBroker, InMemoryBus } from './broker/in-memory.broker.js';
export { Broadcaster } from './module/broadcaster.js';
export { SwitchboardModule, type SwitchboardModuleAsyncOptions, type SwitchboardModuleOptions } from './module/switchboard.module.js';
export { JsonCodec, type JsonCodecOptions } from './protocol/json.codec.js';
export { createMessagePackCodec } from './protocol/message-pack.codec.js';
export { CloseCode, EXCEPTION_EVENT } from './constants.js';
export { DEFAULT_MAX_PAYLOAD } from './options/gateway-options.js';
export { ErrorCode, ERROR_CODES, type ErrorCodeInfo, type ErrorCodeKind } from './errors/error-codes.js';
export { SwitchboardError } from './errors/switchboard.error.js';
export { describeException, type DescribedException } from './errors/describe-exception.js';
export type { Codec } from './interfaces/codec.interface.js';
export type {
  Ack,
  ErrorAck,
  ErrorBody,
  ExceptionEventData,
  InboundMessage,
  MessageId,
  OkAck,
  OutboundEvent,
} from './interfaces/envelope.interface.js';
export type { Handshake, PathParams, QueryParams } from './interfaces/handshake.interface.js';
export type {
  BackpressureOptions,
  CompressionOptions,
  DecodedFrame,
  InvalidMessagePolicy,
  MessageParser,
  RateLimitOptions,
  SwitchboardGatewayBehaviour,
  UnknownEventPolicy,
  WsData,
} from './interfaces/gateway-behaviour.interface.js';
export type { HandshakeAuthenticator, HandshakeAuthOptions, HandshakeClient, TokenSources } from './interfaces/handshake-auth.interface.js';
export type { SwitchboardAdapterOptions, SwitchboardGatewayOptions } from './interfaces/adapter-options.interface.js';
export { WsExceptionFilter, WS_EXCEPTION_FILTER_OPTIONS, type ExceptionMapper, type WsExceptionFilterOptions } from './filters/ws-exception.filter.js';
export { WsTransformInterceptor, WS_TRANSFORM_OPTIONS, type WsTransformInterceptorOptions } from './interceptors/ws-transform.interceptor.js';
export { ReplyEvent, REPLY_EVENT_METADATA } from './interceptors/reply-event.decorator.js';
export { WsValidationPipe, wsValidationExceptionFactory } from './validation/ws-validation.pipe.js';
export { StandardSchemaPipe, type StandardSchema } from './validation/standard-schema.pipe.js';
export type { ValidationIssue } from './errors/validation-issue.js';
export type { EventMap, Exchange, MessageAck, MessageData, PushData, ServerRequestAck, ServerRequestData, ServerRequestEvent, ToClientEvent, ToServerEvent } from './interfaces/event-map.interface.js';
