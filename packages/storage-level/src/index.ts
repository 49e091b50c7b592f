export type { AnyLevel, LevelStorageOptions } from './level-storage'
export { LevelStorage, SYNC_MARKER_KEY } from './level-storage'
export type { ClassicLevelStorageOptions } from './open'
export { openClassicLevelStorage, openMemoryLevelStorage } from './open'
