import {
  type Clock,
  compareBytes,
  LaminarError,
  type Random,
  STORAGE_RANGE_LIMIT_MAX,
  Storage,
  type StorageEntry,
  type StorageOperation,
  type StorageSupports,
} from '@laminar-ts/core'
import { SortedMemoryStorage } from './sorted-memory-storage'

/** A change that reached the durable store: a put, a del, or a range clear. */
export type DurableChange =
  | StorageOperation
  | { type: 'clear'; gte: Uint8Array | undefined; lt: Uint8Array | undefined }

/**
 * One node's disk, shared by every incarnation of the node. All access to the durable store
 * is serialized through `enqueue`, so a flush, a crash's surviving writes and a restarted
 * process's reads happen in one well-defined order.
 */
export class SimulatedDisk {
  readonly durable: Storage
  /** Called, in order, for every change that becomes durable: the checkers' view of the disk. */
  onDurable: ((changes: readonly DurableChange[]) => void) | undefined
  #chain: Promise<unknown> = Promise.resolve()

  constructor(durable: Storage) {
    this.durable = durable
  }

  /** Run `task` after every task enqueued before it. */
  enqueue<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#chain.then(task)
    this.#chain = result.then(
      () => undefined,
      () => undefined,
    )
    return result
  }
}

/** Virtual-time latencies, drawn uniformly per operation. */
export interface StorageLatency {
  writeMsMin: number
  writeMsMax: number
  /** A synced write: the fsync is the slow part. */
  syncMsMin: number
  syncMsMax: number
  readMsMin: number
  readMsMax: number
}

export const DEFAULT_STORAGE_LATENCY: Readonly<StorageLatency> = Object.freeze({
  writeMsMin: 0,
  writeMsMax: 1,
  syncMsMin: 1,
  syncMsMax: 4,
  readMsMin: 0,
  readMsMax: 1,
})

export interface SimulatedStorageOptions {
  disk: SimulatedDisk
  /** The owning process's clock: a paused process's I/O completes on resume, a dead one's never. */
  clock: Clock
  random: Random
  latency?: StorageLatency
}

/** What a crash did to the writes that were not yet durable. */
export interface CrashOutcome {
  /** Batches not yet durable at the crash (excluding those already being flushed). */
  pendingBatches: number
  /** How many of them (a prefix) survived. */
  survivingBatches: number
}

interface Batch {
  changes: DurableChange[]
  /** Its flush to the durable store has been enqueued: it will survive a crash. */
  flushing: boolean
}

/**
 * Storage as a process sees its disk, with the page cache in between: writes are visible to
 * reads at once, but only a synced write (and every write before it) is durable when its
 * promise resolves. On {@link crash} a random prefix of the not-yet-durable batches survives
 * and the rest is lost, which is how a missing fsync shows up. Batches stay atomic.
 *
 * Limit: a range read that overlaps a pending clear reads at most STORAGE_RANGE_LIMIT_MAX
 * durable entries before applying the overlay.
 */
export class SimulatedStorage extends Storage {
  readonly supports: StorageSupports = { persistent: true, sync: true }
  readonly #disk: SimulatedDisk
  readonly #clock: Clock
  readonly #random: Random
  readonly #latency: StorageLatency
  /** Writes not yet known durable, oldest first; a contiguous suffix of everything written. */
  readonly #unflushed: Batch[] = []
  #crashed = false

  constructor(options: SimulatedStorageOptions) {
    super()
    this.#disk = options.disk
    this.#clock = options.clock
    this.#random = options.random
    this.#latency = options.latency ?? DEFAULT_STORAGE_LATENCY
  }

  /** Batches written but not yet durable. */
  get pendingBatches(): number {
    return this.#unflushed.filter((batch) => !batch.flushing).length
  }

  /**
   * Simulator hook: the process died. A random prefix of the pending batches reaches the
   * disk, the rest is lost; this instance refuses every call from now on.
   */
  crash(random: Random): CrashOutcome {
    this.#crashed = true
    const pending = this.#unflushed.filter((batch) => !batch.flushing)
    const surviving = Math.floor(random.next() * (pending.length + 1))
    for (const batch of pending.slice(0, surviving)) this.#flush(batch)
    this.#unflushed.length = 0
    return { pendingBatches: pending.length, survivingBatches: surviving }
  }

  protected override async _open(): Promise<void> {
    this.#assertAlive()
    // Whatever an earlier incarnation left in flight lands before this one reads.
    await this.#disk.enqueue(async () => {})
  }

  protected async _get(key: Uint8Array): Promise<Uint8Array | undefined> {
    this.#assertAlive()
    const value = await this.#disk.enqueue(async () => {
      const overlaid = this.#overlayGet(key)
      if (overlaid !== undefined) return overlaid.value
      return this.#disk.durable.get(key)
    })
    await this.#delay(this.#latency.readMsMin, this.#latency.readMsMax)
    return value === undefined ? undefined : new Uint8Array(value)
  }

  protected async _write(operations: readonly StorageOperation[], options: { sync: boolean }): Promise<void> {
    this.#assertAlive()
    const batch: Batch = {
      changes: operations.map((op) =>
        op.type === 'put'
          ? { type: 'put', key: new Uint8Array(op.key), value: new Uint8Array(op.value) }
          : { type: 'del', key: new Uint8Array(op.key) },
      ),
      flushing: false,
    }
    if (batch.changes.length > 0) this.#unflushed.push(batch)
    if (!options.sync) {
      await this.#delay(this.#latency.writeMsMin, this.#latency.writeMsMax)
      return
    }
    await this.#delay(this.#latency.syncMsMin, this.#latency.syncMsMax)
    // The fsync completed: this batch and every one before it are on the disk.
    await this.#flushThrough(batch)
  }

  protected async _range(options: {
    gte: Uint8Array | undefined
    lt: Uint8Array | undefined
    reverse: boolean
    limit: number
  }): Promise<StorageEntry[]> {
    this.#assertAlive()
    const entries = await this.#disk.enqueue(async () => {
      const masked = this.#maskedCount(options.gte, options.lt)
      const base = await this.#disk.durable.range({
        ...options,
        limit: Math.min(STORAGE_RANGE_LIMIT_MAX, options.limit + masked),
      })
      return this.#overlayRange(base, options)
    })
    await this.#delay(this.#latency.readMsMin, this.#latency.readMsMax)
    return entries
  }

  protected async _clear(options: {
    gte: Uint8Array | undefined
    lt: Uint8Array | undefined
  }): Promise<void> {
    this.#assertAlive()
    this.#unflushed.push({
      changes: [
        {
          type: 'clear',
          gte: options.gte && new Uint8Array(options.gte),
          lt: options.lt && new Uint8Array(options.lt),
        },
      ],
      flushing: false,
    })
    await this.#delay(this.#latency.writeMsMin, this.#latency.writeMsMax)
  }

  protected override async _close(): Promise<void> {
    if (this.#crashed) return
    // An orderly exit loses nothing: the OS writes its page cache back eventually.
    const last = this.#unflushed[this.#unflushed.length - 1]
    if (last !== undefined) await this.#flushThrough(last)
  }

  #assertAlive(): void {
    if (this.#crashed) throw new LaminarError('STORAGE_CLOSED', 'storage is gone: its process crashed')
  }

  #delay(minMs: number, maxMs: number): Promise<void> {
    const delayMs = minMs + Math.floor(this.#random.next() * (maxMs - minMs + 1))
    // No latency: complete in a microtask, sparing the timer queue an event.
    if (delayMs <= 0) return Promise.resolve()
    return new Promise<void>((resolve) => this.#clock.setTimer(resolve, delayMs))
  }

  async #flushThrough(target: Batch): Promise<void> {
    let last: Promise<void> | undefined
    for (const batch of this.#unflushed) {
      if (!batch.flushing) last = this.#flush(batch)
      if (batch === target) break
    }
    if (last !== undefined) await last
  }

  /** Enqueue one batch's trip to the durable store; it leaves the overlay once it is there. */
  #flush(batch: Batch): Promise<void> {
    batch.flushing = true
    const disk = this.#disk
    return disk.enqueue(async () => {
      const durable = disk.durable
      if (
        durable instanceof SortedMemoryStorage &&
        batch.changes.every((change) => change.type !== 'clear')
      ) {
        // The default disk: apply in place, handing over the batch's private copies (no
        // second copy, no trip through the port's checks for data this class already made).
        durable.applyNow(batch.changes as StorageOperation[], true)
      } else {
        await this.#flushChanges(batch.changes)
      }
      const index = this.#unflushed.indexOf(batch)
      if (index >= 0) this.#unflushed.splice(index, 1)
      disk.onDurable?.(batch.changes)
    })
  }

  /** Write a batch's changes to a durable store of any kind, clears in their place. */
  async #flushChanges(changes: readonly DurableChange[]): Promise<void> {
    const disk = this.#disk
    {
      let run: StorageOperation[] = []
      for (const change of changes) {
        if (change.type === 'clear') {
          if (run.length > 0) await disk.durable.write(run, { sync: true })
          run = []
          await disk.durable.clear({ gte: change.gte, lt: change.lt })
        } else {
          run.push(change)
        }
      }
      if (run.length > 0) await disk.durable.write(run, { sync: true })
    }
  }

  /** The newest overlay word on `key`: `{ value }` (undefined value: deleted), or undefined. */
  #overlayGet(key: Uint8Array): { value: Uint8Array | undefined } | undefined {
    for (let b = this.#unflushed.length - 1; b >= 0; b--) {
      const changes = this.#unflushed[b]!.changes
      for (let c = changes.length - 1; c >= 0; c--) {
        const change = changes[c]!
        if (change.type === 'clear') {
          if (inRange(key, change.gte, change.lt)) return { value: undefined }
        } else if (compareBytes(change.key, key) === 0) {
          return { value: change.type === 'put' ? change.value : undefined }
        }
      }
    }
    return undefined
  }

  /** Durable entries the overlay may hide in a range: read that many more to still fill `limit`. */
  #maskedCount(gte: Uint8Array | undefined, lt: Uint8Array | undefined): number {
    let masked = 0
    for (const batch of this.#unflushed) {
      for (const change of batch.changes) {
        if (change.type === 'clear') {
          if (rangesOverlap(change.gte, change.lt, gte, lt)) return STORAGE_RANGE_LIMIT_MAX
        } else if (change.type === 'del' && inRange(change.key, gte, lt)) {
          masked++
        }
      }
    }
    return masked
  }

  #overlayRange(
    base: StorageEntry[],
    options: { gte: Uint8Array | undefined; lt: Uint8Array | undefined; reverse: boolean; limit: number },
  ): StorageEntry[] {
    if (this.#unflushed.length === 0) return base
    const merged = new Map<string, StorageEntry>()
    for (const entry of base) merged.set(keyString(entry.key), entry)
    for (const batch of this.#unflushed) {
      for (const change of batch.changes) {
        if (change.type === 'clear') {
          for (const [name, entry] of merged)
            if (inRange(entry.key, change.gte, change.lt)) merged.delete(name)
        } else if (!inRange(change.key, options.gte, options.lt)) {
        } else if (change.type === 'put') {
          merged.set(keyString(change.key), {
            key: new Uint8Array(change.key),
            value: new Uint8Array(change.value),
          })
        } else {
          merged.delete(keyString(change.key))
        }
      }
    }
    const entries = [...merged.values()].sort((a, b) => compareBytes(a.key, b.key))
    if (options.reverse) entries.reverse()
    return entries.slice(0, options.limit)
  }
}

function inRange(key: Uint8Array, gte: Uint8Array | undefined, lt: Uint8Array | undefined): boolean {
  return (gte === undefined || compareBytes(key, gte) >= 0) && (lt === undefined || compareBytes(key, lt) < 0)
}

function rangesOverlap(
  aGte: Uint8Array | undefined,
  aLt: Uint8Array | undefined,
  bGte: Uint8Array | undefined,
  bLt: Uint8Array | undefined,
): boolean {
  const aStartsBeforeBEnds = aGte === undefined || bLt === undefined || compareBytes(aGte, bLt) < 0
  const bStartsBeforeAEnds = bGte === undefined || aLt === undefined || compareBytes(bGte, aLt) < 0
  return aStartsBeforeBEnds && bStartsBeforeAEnds
}

function keyString(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1')
}
