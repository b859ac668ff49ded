import { Module } from '@nestjs/common';
import { RoomsGateway } from './rooms.gateway.js';

@Module({ providers: [RoomsGateway] })
export class RoomsModule {}
