import {
  LaminarError,
  Storage,
  type StorageEntry,
  type StorageOperation,
  type StorageSupports,
} from '@laminar-ts/core'
import type { AbstractLevel } from 'abstract-level'

/**
 * Any abstract-level database. Keys and values are read and written with the 'view' encoding
 * (Uint8Array) on every call, whatever the database's default encodings are.
 */
// biome-ignore lint/suspicious/noExplicitAny: abstract-level's storage format differs per implementation.
export type AnyLevel = AbstractLevel<any, any, any>

export interface LevelStorageOptions {
  /** What the database can do; classic-level on disk is persistent and syncs. */
  supports: StorageSupports
  /** Close the database when the storage closes. Default true. */
  closeDatabase?: boolean
  /**
   * The database keeps the buffers it is given and returns them from reads (memory-level does):
   * copy on the way in and out so callers own what they pass and get. Default false.
   */
  sharesBuffers?: boolean
}

const VIEW = { keyEncoding: 'view', valueEncoding: 'view' } as const
/** Per-call options when the database's defaults already are 'view': none to copy into every op. */
const DEFAULTS = {} as const

/** Bytes one native iterator read may gather (classic-level's highWaterMarkBytes). */
const RANGE_HIGH_WATER_MARK_BYTES = 2 * 1024 * 1024

/** Reserved: deleted (never written) by an empty synced write. 0xff 0xff 0xff 0xff "laminar-sync". */
export const SYNC_MARKER_KEY: Uint8Array = Uint8Array.from([
  0xff,
  0xff,
  0xff,
  0xff,
  ...new TextEncoder().encode('laminar-sync'),
])

/**
 * The Storage port over an abstract-level database (classic-level, memory-level, ...).
 * `sync: true` maps to the batch's `sync` option (an fsync in classic-level).
 * Storage errors from the database are wrapped as STORAGE_FAILED with the original as `cause`.
 */
export class LevelStorage extends Storage {
  readonly supports: StorageSupports
  readonly db: AnyLevel
  readonly #closeDatabase: boolean
  readonly #sharesBuffers: boolean
  /**
   * Encoding options for every call: nothing when the database's defaults are 'view' already
   * (abstract-level copies call options into every batch operation and resolves them per call).
   */
  readonly #encodings: typeof VIEW | typeof DEFAULTS

  constructor(db: AnyLevel, options: LevelStorageOptions) {
    super()
    this.db = db
    this.supports = { ...options.supports }
    this.#closeDatabase = options.closeDatabase ?? true
    this.#sharesBuffers = options.sharesBuffers ?? false
    const defaultsAreView = db.keyEncoding().name === 'view' && db.valueEncoding().name === 'view'
    this.#encodings = defaultsAreView ? DEFAULTS : VIEW
  }

  protected override async _open(): Promise<void> {
    await wrap('open', () => this.db.open())
  }

  protected async _get(key: Uint8Array): Promise<Uint8Array | undefined> {
    const value = (await wrap('get', () => this.db.get(key, this.#encodings))) as Uint8Array | undefined
    if (value === undefined) return undefined
    return this.#sharesBuffers ? new Uint8Array(value) : plain(value)
  }

  protected async _write(
    operations: readonly StorageOperation[],
    options: { sync: boolean; adopt: boolean },
  ): Promise<void> {
    // abstract-level skips empty batches, but an empty synced write must still make earlier
    // writes durable: delete the reserved (never written) sync marker key instead.
    // Adopted bytes are the caller's no more: the database may keep them as they are.
    const batch =
      operations.length === 0
        ? [{ type: 'del' as const, key: SYNC_MARKER_KEY }]
        : this.#sharesBuffers && !options.adopt
          ? privateCopies(operations)
          : operations
    await wrap('write', () =>
      this.db.batch(
        batch as StorageOperation[],
        { ...this.#encodings, sync: options.sync } as Record<string, unknown>,
      ),
    )
  }

  protected async _range(options: {
    gte: Uint8Array | undefined
    lt: Uint8Array | undefined
    reverse: boolean
    limit: number
    borrow: boolean
  }): Promise<StorageEntry[]> {
    const iteratorOptions: Record<string, unknown> = {
      ...this.#encodings,
      reverse: options.reverse,
      limit: options.limit,
      // classic-level stops each native read at 16 KiB by default: a page of 1 KiB entries would
      // take ~70 round trips to its thread. Bounded: a range holds at most `limit` entries anyway.
      highWaterMarkBytes: RANGE_HIGH_WATER_MARK_BYTES,
    }
    if (options.gte !== undefined) iteratorOptions['gte'] = options.gte
    if (options.lt !== undefined) iteratorOptions['lt'] = options.lt
    const pairs = await wrap('range', async () => {
      const iterator = this.db.iterator(iteratorOptions)
      try {
        const result: Array<[Uint8Array, Uint8Array]> = []
        while (result.length < options.limit) {
          const page = (await iterator.nextv(options.limit - result.length)) as Array<
            [Uint8Array, Uint8Array]
          >
          if (page.length === 0) break
          for (const pair of page) result.push(pair)
        }
        return result
      } finally {
        await iterator.close()
      }
    })
    // A borrowing caller never changes what it reads: the database's own arrays will do.
    if (this.#sharesBuffers && !options.borrow) return privateEntries(pairs)
    return pairs.map(([key, value]) => ({ key: plain(key), value: plain(value) }))
  }

  protected async _clear(options: {
    gte: Uint8Array | undefined
    lt: Uint8Array | undefined
  }): Promise<void> {
    const clearOptions: Record<string, unknown> = { keyEncoding: 'view' }
    if (options.gte !== undefined) clearOptions['gte'] = options.gte
    if (options.lt !== undefined) clearOptions['lt'] = options.lt
    await wrap('clear', () => this.db.clear(clearOptions))
  }

  protected override async _close(): Promise<void> {
    if (this.#closeDatabase) await wrap('close', () => this.db.close())
  }
}

/**
 * Private copies of a batch's keys and values for a database that keeps what it is given. One
 * `new Uint8Array(source)` each: a copy without zero-filling first (measured faster than one
 * shared allocation with views into it, which zero-fills and pays a subarray per item).
 */
function privateCopies(operations: readonly StorageOperation[]): StorageOperation[] {
  const copies: StorageOperation[] = new Array(operations.length)
  for (let i = 0; i < operations.length; i++) {
    const op = operations[i]!
    copies[i] =
      op.type === 'put'
        ? { type: 'put', key: new Uint8Array(op.key), value: new Uint8Array(op.value) }
        : { type: 'del', key: op.key }
  }
  return copies
}

/** Private copies of a range's keys and values (the database's own buffers). */
function privateEntries(pairs: ReadonlyArray<[Uint8Array, Uint8Array]>): StorageEntry[] {
  const entries: StorageEntry[] = new Array(pairs.length)
  for (let i = 0; i < pairs.length; i++) {
    const [key, value] = pairs[i]!
    entries[i] = { key: new Uint8Array(key), value: new Uint8Array(value) }
  }
  return entries
}

/** A plain Uint8Array view over a Buffer (no copy): callers compare and slice it like any other. */
function plain(bytes: Uint8Array): Uint8Array {
  return bytes.constructor === Uint8Array
    ? bytes
    : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

async function wrap<T>(operation: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run()
  } catch (cause) {
    if (cause instanceof LaminarError) throw cause
    const code = (cause as { code?: unknown }).code
    throw new LaminarError(
      'STORAGE_FAILED',
      `level ${operation} failed${typeof code === 'string' ? `: ${code}` : ''}`,
      {
        cause,
        details: { operation, levelCode: code },
      },
    )
  }
}
