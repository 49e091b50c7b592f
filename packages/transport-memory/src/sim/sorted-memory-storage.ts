import {
  compareBytes,
  Storage,
  type StorageEntry,
  type StorageOperation,
  type StorageSupports,
} from '@laminar-ts/core'

/**
 * A plain in-memory ordered store (a sorted array): the simulator's default "disk" under
 * {@link SimulatedStorage}. Every operation completes in a microtask and nothing depends on
 * real time, so a seed replays exactly. It keeps its data for as long as the object lives:
 * the simulator keeps one per node, never closed, across crashes and restarts.
 */
export class SortedMemoryStorage extends Storage {
  /** Not persistent in the port's sense: the data lives in this object, which cannot reopen once closed. */
  readonly supports: StorageSupports = { persistent: false, sync: true }
  /** Sorted by key, unique keys. */
  readonly #entries: StorageEntry[] = []

  /** Entries stored (for tests and status). */
  get size(): number {
    return this.#entries.length
  }

  protected async _get(key: Uint8Array): Promise<Uint8Array | undefined> {
    const index = this.#search(key)
    const entry = this.#entries[index]
    return entry !== undefined && compareBytes(entry.key, key) === 0 ? new Uint8Array(entry.value) : undefined
  }

  protected async _write(operations: readonly StorageOperation[]): Promise<void> {
    this.applyNow(operations)
  }

  /**
   * @internal Apply a batch synchronously. With `adopt`, the store keeps the operations' own
   * key and value arrays instead of copying them: the caller hands them over and never
   * mutates them again (the simulated disk's flush, whose batches are private copies already).
   */
  applyNow(operations: readonly StorageOperation[], adopt = false): void {
    for (const op of operations) {
      const index = this.#search(op.key)
      const found = this.#entries[index]
      const exists = found !== undefined && compareBytes(found.key, op.key) === 0
      if (op.type === 'put') {
        const entry = adopt
          ? { key: op.key, value: op.value }
          : { key: new Uint8Array(op.key), value: new Uint8Array(op.value) }
        if (exists) this.#entries[index] = entry
        else this.#entries.splice(index, 0, entry)
      } else if (exists) {
        this.#entries.splice(index, 1)
      }
    }
  }

  protected async _range(options: {
    gte: Uint8Array | undefined
    lt: Uint8Array | undefined
    reverse: boolean
    limit: number
  }): Promise<StorageEntry[]> {
    const [start, end] = this.#bounds(options.gte, options.lt)
    const result: StorageEntry[] = []
    if (options.reverse) {
      for (let i = end - 1; i >= start && result.length < options.limit; i--)
        result.push(copy(this.#entries[i]!))
    } else {
      for (let i = start; i < end && result.length < options.limit; i++) result.push(copy(this.#entries[i]!))
    }
    return result
  }

  protected async _clear(options: {
    gte: Uint8Array | undefined
    lt: Uint8Array | undefined
  }): Promise<void> {
    const [start, end] = this.#bounds(options.gte, options.lt)
    if (end > start) this.#entries.splice(start, end - start)
  }

  #bounds(gte: Uint8Array | undefined, lt: Uint8Array | undefined): [number, number] {
    const start = gte === undefined ? 0 : this.#search(gte)
    const end = lt === undefined ? this.#entries.length : this.#search(lt)
    return [start, Math.max(start, end)]
  }

  /** The first position whose key is >= `key`. */
  #search(key: Uint8Array): number {
    let lo = 0
    let hi = this.#entries.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (compareBytes(this.#entries[mid]!.key, key) < 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}

function copy(entry: StorageEntry): StorageEntry {
  return { key: new Uint8Array(entry.key), value: new Uint8Array(entry.value) }
}
