/**
 * What a room registry reports as rooms come and go on this node. The hub
 * turns `roomCreated` / `roomDeleted` into broker subscriptions, which is how
 * a node comes to receive only the traffic of rooms it has members in.
 */
export interface RoomLifecycleListener {
  /** The room got its first member here; resolves when the broker confirmed the room's subscription. */
  roomCreated(room: string): Promise<void>;
  roomDeleted(room: string): void;
  /** Resolves when the room's subscription is confirmed (at once when it already is). */
  whenSubscribed(room: string): Promise<void>;
}
