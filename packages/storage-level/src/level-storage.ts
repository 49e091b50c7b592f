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

  constructor(db: AnyLevel, options: LevelStorageOptions) {
    super()
    this.db = db
    this.supports = { ...options.supports }
    this.#closeDatabase = options.closeDatabase ?? true
    this.#sharesBuffers = options.sharesBuffers ?? false
  }

  protected override async _open(): Promise<void> {
    await wrap('open', () => this.db.open())
  }

  protected async _get(key: Uint8Array): Promise<Uint8Array | undefined> {
    const value = (await wrap('get', () => this.db.get(key, VIEW))) as Uint8Array | undefined
    return value === undefined ? undefined : this.#out(value)
  }

  protected async _write(operations: readonly StorageOperation[], options: { sync: boolean }): Promise<void> {
    // abstract-level skips empty batches, but an empty synced write must still make earlier
    // writes durable: delete the reserved (never written) sync marker key instead.
    const batch =
      operations.length === 0
        ? [{ type: 'del' as const, key: SYNC_MARKER_KEY }]
        : this.#sharesBuffers
          ? operations.map((op) =>
              op.type === 'put'
                ? { type: op.type, key: new Uint8Array(op.key), value: new Uint8Array(op.value) }
                : op,
            )
          : operations
    await wrap('write', () =>
      this.db.batch(batch as StorageOperation[], { ...VIEW, sync: options.sync } as Record<string, unknown>),
    )
  }

  protected async _range(options: {
    gte: Uint8Array | undefined
    lt: Uint8Array | undefined
    reverse: boolean
    limit: number
  }): Promise<StorageEntry[]> {
    const iteratorOptions: Record<string, unknown> = {
      ...VIEW,
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
    return pairs.map(([key, value]) => ({ key: this.#out(key), value: this.#out(value) }))
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

  #out(bytes: Uint8Array): Uint8Array {
    return this.#sharesBuffers ? new Uint8Array(bytes) : plain(bytes)
  }

  protected override async _close(): Promise<void> {
    if (this.#closeDatabase) await wrap('close', () => this.db.close())
  }
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
