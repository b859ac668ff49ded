export { RedisBroker, type RedisBrokerOptions } from './redis.broker.js';
