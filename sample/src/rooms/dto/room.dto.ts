import { Transform } from 'class-transformer';
import { IsNotEmpty, IsString, Matches, MaxLength } from 'class-validator';

const trim = ({ value }: { value: unknown }): unknown => (typeof value === 'string' ? value.trim() : value);

/** A room name: letters, digits, `-` and `_`, up to 32 characters. */
export const ROOM_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/;

export class RoomDto {
  @IsString()
  @Matches(ROOM_PATTERN, { message: 'room must be 1-32 letters, digits, "-" or "_"' })
  room!: string;
}

export class JoinDto extends RoomDto {
  @Transform(trim)
  @IsString()
  @IsNotEmpty()
  @MaxLength(24)
  nick!: string;
}

export class SayInRoomDto extends RoomDto {
  @Transform(trim)
  @IsString()
  @IsNotEmpty()
  @MaxLength(280)
  text!: string;
}
