export type { ConnectFate, FrameFate, LinkPolicy } from './network/link-policy'
export { perfectLinks } from './network/link-policy'
export { MemoryConnection } from './network/memory-connection'
export type { MemoryNetworkOptions } from './network/memory-network'
export {
  CONNECTION_HIGH_WATER_MARK_BYTES_DEFAULT,
  HELD_DELIVERIES_MAX,
  MemoryNetwork,
} from './network/memory-network'
export { MemoryTransport } from './network/memory-transport'
export type { DeliveryScheduler } from './network/scheduler'
export { ClockScheduler, RealTimeScheduler } from './network/scheduler'
