/**
 * One contract, shared by a gateway and its clients, that types both ends:
 *
 * ```ts
 * export interface ChatEvents {
 *   toServer: {                                  // client.emit / client.request ↔ @SubscribeMessage
 *     join: { data: string; ack: string[] };
 *     say: { data: { room: string; text: string }; ack: number };
 *   };
 *   toClient: {                                  // server pushes ↔ client.on
 *     said: { from: string; text: string };
 *   };
 *   serverRequests: {                            // server client.request ↔ client.onRequest
 *     confirm: { data: string; ack: boolean };
 *   };
 * }
 * ```
 *
 * Every part is optional; a missing part is untyped (any event name, any data).
 * Interfaces work as well as type aliases (no index signature is required).
 */
export interface EventMap {
  /** Messages the client sends: their `data`, and the `data` of their ack. */
  toServer?: object;
  /** Pushes the server sends: their `data`. */
  toClient?: object;
  /** Requests the server sends (`client.request` on the server): their `data`, and the client's answer. */
  serverRequests?: object;
}

/** One message and its answer, as a map entry describes it. */
export interface Exchange<Data = unknown, AckData = unknown> {
  data: Data;
  ack: AckData;
}

type Untyped = Record<string, { data: any; ack: any }>;
type UntypedPushes = Record<string, any>;

type ToServerOf<M> = M extends { toServer: infer T extends object } ? T : Untyped;
type ToClientOf<M> = M extends { toClient: infer T extends object } ? T : UntypedPushes;
type ServerRequestsOf<M> = M extends { serverRequests: infer T extends object } ? T : Untyped;

type DataOf<X> = X extends { data: infer D } ? D : undefined;
type AckOf<X> = X extends { ack: infer A } ? A : unknown;

/** The events a client may send to a gateway of this map. */
export type ToServerEvent<M extends EventMap> = keyof ToServerOf<M> & string;
/** The `data` of a client message (a gateway's `@MessageBody()`). */
export type MessageData<M extends EventMap, E extends ToServerEvent<M>> = DataOf<ToServerOf<M>[E]>;
/** The `data` of its ack (what the gateway's handler returns). */
export type MessageAck<M extends EventMap, E extends ToServerEvent<M>> = AckOf<ToServerOf<M>[E]>;

/** The events a gateway of this map pushes to its clients. */
export type ToClientEvent<M extends EventMap> = keyof ToClientOf<M> & string;
/** The `data` of a push. */
export type PushData<M extends EventMap, E extends ToClientEvent<M>> = ToClientOf<M>[E];

/** The requests a gateway of this map sends to its clients. */
export type ServerRequestEvent<M extends EventMap> = keyof ServerRequestsOf<M> & string;
/** The `data` of a server request. */
export type ServerRequestData<M extends EventMap, E extends ServerRequestEvent<M>> = DataOf<ServerRequestsOf<M>[E]>;
/** What the client answers it with. */
export type ServerRequestAck<M extends EventMap, E extends ServerRequestEvent<M>> = AckOf<ServerRequestsOf<M>[E]>;
