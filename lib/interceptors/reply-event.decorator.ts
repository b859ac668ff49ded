import { SetMetadata } from '@nestjs/common';

export const REPLY_EVENT_METADATA = 'switchboard:reply_event';

/** The event name {@link WsTransformInterceptor} gives this handler's replies. */
export const ReplyEvent = (event: string): MethodDecorator & ClassDecorator => SetMetadata(REPLY_EVENT_METADATA, event);
