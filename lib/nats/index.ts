export { NatsBroker, natsSubject, channelOfSubject, type NatsBrokerOptions, type NatsResubscription } from './nats.broker.js';
