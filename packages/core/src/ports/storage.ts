import { LaminarError } from '../errors/laminar-error'

/** One operation of an atomic {@link Storage.write} batch. */
export type StorageOperation =
  | { type: 'put'; key: Uint8Array; value: Uint8Array }
  | { type: 'del'; key: Uint8Array }

export interface StorageWriteOptions {
  /** When true, the write is durable (fsync'ed) before the promise resolves. */
  sync?: boolean
  /**
   * The caller hands the operations' key and value bytes over: it never modifies them after this
   * call, so a storage that keeps the arrays it is given (memory-level) may keep these ones
   * instead of private copies. The log's writes do (every write encodes into fresh buffers).
   */
  adopt?: boolean
}

/** Key bounds, compared bytewise (unsigned, lexicographic). */
export interface StorageRangeOptions {
  gte?: Uint8Array
  lt?: Uint8Array
  reverse?: boolean
  /** At most this many entries; required to be finite so every read is bounded. */
  limit?: number
  /**
   * The caller only reads the returned keys and values and never modifies them, so a storage
   * that keeps values in memory (memory-level) may return its own arrays instead of copies.
   * The log's entry reads do: with a copy per read, a consumer group reading back 200 MB of
   * messages paid 200 MB of fresh memory for bytes nobody changes.
   */
  borrow?: boolean
}

export interface StorageClearOptions {
  gte?: Uint8Array
  lt?: Uint8Array
}

export interface StorageEntry {
  key: Uint8Array
  value: Uint8Array
}

/** What an implementation can do; compliance suites branch on it. */
export interface StorageSupports {
  /** Data written with `sync: true` survives close and reopen of the same location. */
  persistent: boolean
  /** `sync: true` is honoured (durable before resolve), not just accepted. */
  sync: boolean
}

/** The largest `limit` a single range may ask for; callers page beyond it. */
export const STORAGE_RANGE_LIMIT_MAX = 100_000

export type StorageStatus = 'opening' | 'open' | 'closing' | 'closed'

/**
 * The Storage port: a minimal ordered key-value store.
 *
 * As in abstract-level, public methods validate arguments and state, then call a
 * `_`-prefixed hook with exact arguments; implementations override only the hooks.
 * Errors: STORAGE_CLOSED after close, INVALID_ARGUMENT for bad arguments.
 * Ownership: returned keys and values belong to the caller, except those of a range read with
 * `borrow`, which the caller must not modify.
 */
export abstract class Storage {
  abstract readonly supports: StorageSupports
  #status: StorageStatus = 'opening'

  get status(): StorageStatus {
    return this.#status
  }

  async open(): Promise<void> {
    if (this.#status === 'open') return
    if (this.#status !== 'opening') throw closedError()
    await this._open()
    this.#status = 'open'
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    this.#assertOpen()
    assertKey(key, 'key')
    return this._get(key)
  }

  async write(operations: readonly StorageOperation[], options: StorageWriteOptions = {}): Promise<void> {
    this.#assertOpen()
    if (!Array.isArray(operations)) throw invalid('operations must be an array')
    for (const op of operations) {
      if (op === null || typeof op !== 'object') throw invalid('each operation must be an object')
      assertKey(op.key, 'operation key')
      if (op.type === 'put') {
        if (!(op.value instanceof Uint8Array)) throw invalid('put value must be a Uint8Array')
      } else if (op.type !== 'del') {
        throw invalid(`unknown operation type ${String((op as { type: unknown }).type)}`)
      }
    }
    if (operations.length === 0 && !options.sync) return
    return this._write(operations, { sync: options.sync === true, adopt: options.adopt === true })
  }

  async range(options: StorageRangeOptions = {}): Promise<StorageEntry[]> {
    this.#assertOpen()
    if (options.gte !== undefined) assertKey(options.gte, 'gte')
    if (options.lt !== undefined) assertKey(options.lt, 'lt')
    const limit = options.limit ?? STORAGE_RANGE_LIMIT_MAX
    if (!Number.isInteger(limit) || limit < 0 || limit > STORAGE_RANGE_LIMIT_MAX) {
      throw invalid(`limit must be an integer in [0, ${STORAGE_RANGE_LIMIT_MAX}]`)
    }
    if (limit === 0) return []
    return this._range({
      gte: options.gte,
      lt: options.lt,
      reverse: options.reverse === true,
      limit,
      borrow: options.borrow === true,
    })
  }

  async clear(options: StorageClearOptions = {}): Promise<void> {
    this.#assertOpen()
    if (options.gte !== undefined) assertKey(options.gte, 'gte')
    if (options.lt !== undefined) assertKey(options.lt, 'lt')
    return this._clear({ gte: options.gte, lt: options.lt })
  }

  async close(): Promise<void> {
    if (this.#status === 'closed') return
    this.#status = 'closing'
    try {
      await this._close()
    } finally {
      this.#status = 'closed'
    }
  }

  protected async _open(): Promise<void> {}
  protected abstract _get(key: Uint8Array): Promise<Uint8Array | undefined>
  protected abstract _write(
    operations: readonly StorageOperation[],
    options: { sync: boolean; adopt: boolean },
  ): Promise<void>
  protected abstract _range(options: {
    gte: Uint8Array | undefined
    lt: Uint8Array | undefined
    reverse: boolean
    limit: number
    borrow: boolean
  }): Promise<StorageEntry[]>
  protected abstract _clear(options: {
    gte: Uint8Array | undefined
    lt: Uint8Array | undefined
  }): Promise<void>
  protected async _close(): Promise<void> {}

  #assertOpen(): void {
    if (this.#status === 'opening') {
      throw new LaminarError('STORAGE_NOT_OPEN', 'storage is not open: call open() first')
    }
    if (this.#status !== 'open') throw closedError()
  }
}

function closedError(): LaminarError {
  return new LaminarError('STORAGE_CLOSED', 'storage is closed')
}

function invalid(message: string): LaminarError {
  return new LaminarError('INVALID_ARGUMENT', message)
}

function assertKey(key: unknown, name: string): asserts key is Uint8Array {
  if (!(key instanceof Uint8Array)) throw invalid(`${name} must be a Uint8Array`)
  if (key.length === 0) throw invalid(`${name} must not be empty`)
}

/** Bytewise comparison, the order every Storage keeps. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length)
  for (let i = 0; i < length; i++) {
    const diff = a[i]! - b[i]!
    if (diff !== 0) return diff
  }
  return a.length - b.length
}
