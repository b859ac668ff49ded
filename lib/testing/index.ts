/**
 * `nestjs-switchboard/testing`: test gateways through the real Nest pipeline
 * without a port, and unit-test gateway methods with a mock socket. Nothing
 * in the runtime imports this entry point.
 */
export { createGatewayHarness, GatewayHarness, UpgradeRefusedError, type ConnectOptions, type GatewayHarnessOptions, type HarnessTransport } from './gateway-harness.js';
export { GatewayTestClient, AckError, TestClientTimeoutError, type ReceivedMessage } from './test-client.js';
export { createMockSocket, MockSocket, type MockSocketOptions, type RecordedBroadcast } from './mock-socket.js';
export { connectTestClient } from './connect-test-client.js';
export { createMemorySocketPair, MemorySocket } from './memory-duplex.js';
