import {
  compareBytes,
  Storage,
  type StorageEntry,
  type StorageOperation,
  type StorageSupports,
} from '../../src/ports/storage'

/**
 * A tiny in-test Storage: a sorted array of entries, binary searched. Counts writes so tests
 * can assert group commit, and can be shared by several SegmentedLogs (reopen = new log, same store).
 */
export class TestMemoryStorage extends Storage {
  readonly supports: StorageSupports = { persistent: false, sync: false }
  readonly entries: StorageEntry[] = []
  writes = 0
  syncedWrites = 0
  /** Range reads served, so tests can assert a read needed none. */
  ranges = 0

  static async create(): Promise<TestMemoryStorage> {
    const storage = new TestMemoryStorage()
    await storage.open()
    return storage
  }

  #find(key: Uint8Array): number {
    let lo = 0
    let hi = this.entries.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (compareBytes(this.entries[mid]!.key, key) < 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  protected async _get(key: Uint8Array): Promise<Uint8Array | undefined> {
    const at = this.#find(key)
    const entry = this.entries[at]
    return entry !== undefined && compareBytes(entry.key, key) === 0 ? new Uint8Array(entry.value) : undefined
  }

  protected async _write(operations: readonly StorageOperation[], options: { sync: boolean }): Promise<void> {
    this.writes++
    if (options.sync) this.syncedWrites++
    for (const op of operations) {
      const at = this.#find(op.key)
      const exists = this.entries[at] !== undefined && compareBytes(this.entries[at]!.key, op.key) === 0
      if (op.type === 'put') {
        const entry = { key: new Uint8Array(op.key), value: new Uint8Array(op.value) }
        if (exists) this.entries[at] = entry
        else this.entries.splice(at, 0, entry)
      } else if (exists) {
        this.entries.splice(at, 1)
      }
    }
  }

  protected async _range(options: {
    gte: Uint8Array | undefined
    lt: Uint8Array | undefined
    reverse: boolean
    limit: number
  }): Promise<StorageEntry[]> {
    this.ranges++
    const start = options.gte === undefined ? 0 : this.#find(options.gte)
    const end = options.lt === undefined ? this.entries.length : this.#find(options.lt)
    const slice = this.entries.slice(start, Math.max(start, end))
    if (options.reverse) slice.reverse()
    return slice
      .slice(0, options.limit)
      .map((e) => ({ key: new Uint8Array(e.key), value: new Uint8Array(e.value) }))
  }

  protected async _clear(options: {
    gte: Uint8Array | undefined
    lt: Uint8Array | undefined
  }): Promise<void> {
    const start = options.gte === undefined ? 0 : this.#find(options.gte)
    const end = options.lt === undefined ? this.entries.length : this.#find(options.lt)
    if (end > start) this.entries.splice(start, end - start)
  }
}
