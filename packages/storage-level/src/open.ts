import { ClassicLevel } from 'classic-level'
import { MemoryLevel } from 'memory-level'
import { LevelStorage } from './level-storage'

/** Options for {@link openClassicLevelStorage}. */
export interface ClassicLevelStorageOptions {
  /** LevelDB's write buffer; larger buffers absorb write bursts. Default 4 MiB (LevelDB's). */
  writeBufferSizeBytes?: number
  /** LevelDB's block cache. Default 8 MiB (LevelDB's). */
  cacheSizeBytes?: number
}

/** Opens (creating if needed) a classic-level (LevelDB) database in `directory` as Storage. */
export async function openClassicLevelStorage(
  directory: string,
  options: ClassicLevelStorageOptions = {},
): Promise<LevelStorage> {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(directory, {
    keyEncoding: 'view',
    valueEncoding: 'view',
    ...(options.writeBufferSizeBytes === undefined ? {} : { writeBufferSize: options.writeBufferSizeBytes }),
    ...(options.cacheSizeBytes === undefined ? {} : { cacheSize: options.cacheSizeBytes }),
  })
  const storage = new LevelStorage(db, { supports: { persistent: true, sync: true } })
  await storage.open()
  return storage
}

/** Opens an in-memory memory-level database as Storage (forgets everything on close). */
export async function openMemoryLevelStorage(): Promise<LevelStorage> {
  // Stored as 'view' too: keys and values pass through abstract-level untranscoded.
  const db = new MemoryLevel<Uint8Array, Uint8Array>({
    keyEncoding: 'view',
    valueEncoding: 'view',
    storeEncoding: 'view',
  })
  const storage = new LevelStorage(db, { supports: { persistent: false, sync: false }, sharesBuffers: true })
  await storage.open()
  return storage
}
