/**
 * What a room registry reports as rooms come and go on this node. The hub
 * turns `roomCreated` / `roomDeleted` into broker subscriptions, which is how
 * a node comes to receive only the traffic of rooms it has members in.
 */
export interface RoomLifecycleListener {
  roomCreated(room: string): void;
  roomDeleted(room: string): void;
}
