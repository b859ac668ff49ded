import { Logger } from '@nestjs/common';
import { ErrorCode } from '../errors/error-codes.js';
import { SwitchboardError } from '../errors/switchboard.error.js';

const logger = new Logger('SwitchboardMetrics');

/**
 * Which rooms may become a `room` label of the fan-out histogram. Rooms are
 * made by applications and often by users (`user:42`), so no room is ever
 * labelled unless named here:
 * - `{ allow: ['lobby', 'alerts'] }`: those rooms as themselves, every other one as `other`;
 * - a template, `(room) => room.startsWith('game:') ? 'game:*' : undefined`: its answer, `other` for undefined.
 *   A template's distinct answers are capped ({@link MAX_TEMPLATE_ROOM_LABELS}); past the cap they become `other`.
 * Without it the histogram has no `room` label.
 */
export type RoomLabelRule = { readonly allow: readonly string[] } | ((room: string) => string | undefined);

/** The label value for everything an allow-list or a cap leaves out. */
export const OTHER = 'other';

/** Distinct labels a room template may produce before the rest become `other`: a guard against a template that echoes room names. */
export const MAX_TEMPLATE_ROOM_LABELS = 100;

/**
 * Distinct `event` labels per gateway path before the rest become `other`.
 * Handler names are fixed by the code, but a gateway's `routeMessage` can
 * route any client-sent event name to a handler, and the label is the name
 * the client sent: the cap keeps a client from growing the series.
 */
export const MAX_EVENT_LABELS_PER_PATH = 200;

/**
 * Turns the hooks' raw values into bounded label values: rooms through the
 * rule, close codes by class, event names under a cap. Never a socket id:
 * no hook is given one.
 */
export class LabelRules {
  /** Whether the fan-out histogram carries a `room` label at all. */
  readonly labelsRooms: boolean;
  private readonly allowedRooms: ReadonlySet<string> | undefined;
  private readonly template: ((room: string) => string | undefined) | undefined;
  private readonly templateLabels = new Set<string>();
  private readonly appCloseCodes: ReadonlySet<number>;
  private readonly eventsByPath = new Map<string, Set<string>>();
  private warnedTemplate = false;
  private readonly warnedPaths = new Set<string>();

  constructor(rooms: RoomLabelRule | undefined, closeCodes: readonly number[] = []) {
    if (rooms !== undefined && typeof rooms !== 'function' && !(typeof rooms === 'object' && Array.isArray(rooms.allow))) {
      throw new SwitchboardError(ErrorCode.INVALID_OPTION, 'metrics rooms must be { allow: string[] } or a function (room) => label | undefined.');
    }
    for (const code of closeCodes) {
      if (!Number.isInteger(code) || code < 3000 || code > 4999) {
        throw new SwitchboardError(ErrorCode.INVALID_OPTION, `metrics closeCodes lists application close codes (3000-4999); ${String(code)} is not one.`);
      }
    }
    this.labelsRooms = rooms !== undefined;
    this.allowedRooms = rooms === undefined || typeof rooms === 'function' ? undefined : new Set(rooms.allow);
    this.template = typeof rooms === 'function' ? rooms : undefined;
    this.appCloseCodes = new Set(closeCodes);
  }

  /**
   * The `room` label of a fan-out: '' (no room) for a broadcast that was not
   * to exactly one room, else the rule's answer or `other`.
   */
  room(room: string | undefined): string {
    if (room === undefined) {
      return '';
    }
    if (this.allowedRooms !== undefined) {
      return this.allowedRooms.has(room) ? room : OTHER;
    }
    const label = this.template?.(room);
    if (typeof label !== 'string' || label === '') {
      return OTHER;
    }
    if (this.templateLabels.has(label)) {
      return label;
    }
    if (this.templateLabels.size >= MAX_TEMPLATE_ROOM_LABELS) {
      if (!this.warnedTemplate) {
        this.warnedTemplate = true;
        logger.warn(`The metrics room template gave over ${MAX_TEMPLATE_ROOM_LABELS} distinct labels; later ones are counted as "${OTHER}". Make it map rooms to a few groups.`);
      }
      return OTHER;
    }
    this.templateLabels.add(label);
    return label;
  }

  /**
   * The `code` label of a close. The close code comes from either side, and
   * a client may pick any of 3000-4999, so those are labelled as themselves
   * only when listed (`closeCodes`), else by class (`3xxx`, `4xxx`); the
   * registered range 1000-1015 as themselves; anything else `other`.
   */
  code(code: number): string {
    if (code >= 1000 && code <= 1015) {
      return CODE_LABELS[code - 1000];
    }
    if (code >= 3000 && code <= 4999) {
      return this.appCloseCodes.has(code) ? String(code) : code < 4000 ? '3xxx' : '4xxx';
    }
    return OTHER;
  }

  /** The `event` label of a handler: its name, under the per-path cap. */
  event(path: string, event: string): string {
    let events = this.eventsByPath.get(path);
    if (events === undefined) {
      events = new Set();
      this.eventsByPath.set(path, events);
    }
    if (events.has(event)) {
      return event;
    }
    if (events.size >= MAX_EVENT_LABELS_PER_PATH) {
      if (!this.warnedPaths.has(path)) {
        this.warnedPaths.add(path);
        logger.warn(`Handlers of ${path} ran for over ${MAX_EVENT_LABELS_PER_PATH} distinct event names (a routeMessage passing client names?); later ones are counted as "${OTHER}".`);
      }
      return OTHER;
    }
    events.add(event);
    return event;
  }
}

const CODE_LABELS = Array.from({ length: 16 }, (_, offset) => String(1000 + offset));
