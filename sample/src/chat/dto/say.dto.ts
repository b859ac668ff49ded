import { IsNotEmpty, IsString, MaxLength } from 'class-validator';

export class SayDto {
  @IsString()
  @IsNotEmpty()
  @MaxLength(500)
  text!: string;
}
