export type { Clock, TimerHandle } from './clock'
export { systemClock } from './clock'
export type { Random } from './random'
export { randomInt, systemRandom } from './random'
export type {
  StorageClearOptions,
  StorageEntry,
  StorageOperation,
  StorageRangeOptions,
  StorageStatus,
  StorageSupports,
  StorageWriteOptions,
} from './storage'
export { compareBytes, STORAGE_RANGE_LIMIT_MAX, Storage } from './storage'
export type { Connection, ConnectionEvents, Listener, Transport } from './transport'
