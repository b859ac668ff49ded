/**
 * The one spelling of a channel name: the gateway path, or the path + NUL +
 * the room (NUL cannot appear in a path). The hub's reference counts and
 * every broker use it.
 */
export function channelOf(path: string, room: string | undefined): string {
  return room === undefined ? path : `${path}\u0000${room}`;
}
