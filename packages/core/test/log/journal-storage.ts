import type { StorageOperation } from '../../src/ports/storage'
import { TestMemoryStorage } from './memory-storage'

type JournalItem =
  | { kind: 'write'; operations: StorageOperation[]; sync: boolean }
  | { kind: 'clear'; gte: Uint8Array | undefined; lt: Uint8Array | undefined }

/**
 * A memory storage that journals every write and clear, so a test can crash it: what survives is
 * every item up to the last synced write (a sync makes earlier writes durable too, as in LevelDB)
 * plus any number of later items, each write atomic.
 */
export class JournalStorage extends TestMemoryStorage {
  readonly journal: JournalItem[] = []
  /** Items before this survive any crash (they were replayed into this store). */
  durableLength = 0

  protected override async _write(
    operations: readonly StorageOperation[],
    options: { sync: boolean },
  ): Promise<void> {
    this.journal.push({
      kind: 'write',
      operations: operations.map((op) =>
        op.type === 'put'
          ? { ...op, key: new Uint8Array(op.key), value: new Uint8Array(op.value) }
          : { ...op, key: new Uint8Array(op.key) },
      ),
      sync: options.sync,
    })
    return super._write(operations, options)
  }

  protected override async _clear(options: {
    gte: Uint8Array | undefined
    lt: Uint8Array | undefined
  }): Promise<void> {
    this.journal.push({
      kind: 'clear',
      gte: options.gte && new Uint8Array(options.gte),
      lt: options.lt && new Uint8Array(options.lt),
    })
    return super._clear(options)
  }

  /** The fewest journal items a crash keeps. */
  survivingLengthMin(): number {
    let length = this.durableLength
    this.journal.forEach((item, i) => {
      if (item.kind === 'write' && item.sync) length = Math.max(length, i + 1)
    })
    return length
  }

  /** A new store with the first `keep` journal items (at least survivingLengthMin()). */
  async crash(keep: number): Promise<JournalStorage> {
    if (keep < this.survivingLengthMin() || keep > this.journal.length) throw new Error(`cannot keep ${keep}`)
    const next = new JournalStorage()
    await next.open()
    for (const item of this.journal.slice(0, keep)) {
      if (item.kind === 'write') await next.write(item.operations)
      else await next.clear({ gte: item.gte, lt: item.lt })
    }
    next.durableLength = next.journal.length
    await this.close()
    return next
  }
}
