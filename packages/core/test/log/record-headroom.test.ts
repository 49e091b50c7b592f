import { describe, expect, it } from 'vitest'
import { isLaminarError } from '../../src/errors/laminar-error'
import { SegmentedLog } from '../../src/log/index'
import { reserveRecordHeadroom } from '../../src/log/record-headroom'
import { RECORD_HEADER_BYTES } from '../../src/log/records'
import { decodeRaftFrame, encodeRaftFrame } from '../../src/node/raft-wire'
import type { StorageOperation } from '../../src/ports/storage'
import type { Entry, Message } from '../../src/raft/types'
import { makeEntries } from './helpers'
import { TestMemoryStorage } from './memory-storage'

/** Remembers the operations and options of every write, as the log handed them over. */
class RecordingStorage extends TestMemoryStorage {
  readonly written: Array<{ operations: StorageOperation[]; adopt: boolean }> = []

  protected override async _write(
    operations: readonly StorageOperation[],
    options: { sync: boolean; adopt: boolean },
  ): Promise<void> {
    this.written.push({ operations: [...operations], adopt: options.adopt })
    await super._write(operations, options)
  }
}

async function openLog(): Promise<{ storage: RecordingStorage; log: SegmentedLog }> {
  const storage = new RecordingStorage()
  await storage.open()
  return { storage, log: await SegmentedLog.open(storage, 'p0') }
}

/** The entries as a follower receives them: decoded from a Raft frame (views of the frame). */
function received(entries: Entry[]): { frame: Uint8Array; entries: Entry[] } {
  const message: Message = {
    type: 'app',
    to: 'n2',
    from: 'n1',
    term: 1,
    logTerm: 1,
    index: entries[0]!.index - 1,
    entries,
    commit: 0,
    reject: false,
    rejectHint: 0,
  }
  const frame = encodeRaftFrame(new Map([['p0', [message]]]))
  return { frame, entries: decodeRaftFrame(frame)[0]![1][0]!.entries }
}

/** The chunk values (entry puts) of the last write. */
function chunkValues(storage: RecordingStorage): Uint8Array[] {
  const last = storage.written[storage.written.length - 1]!
  return last.operations.flatMap((op) =>
    op.type === 'put' && op.value.length >= RECORD_HEADER_BYTES + 16 ? [op.value] : [],
  )
}

describe('record headroom', () => {
  it('a follower stores the entries of a Raft frame where they arrived, as one chunk', async () => {
    const { storage, log } = await openLog()
    const sent = makeEntries(1, 3, 1)
    const { frame, entries } = received(sent)
    await log.persist({ entries, timestampMs: 1000 })
    const values = chunkValues(storage)
    expect(values.length).toBe(1)
    expect(values[0]!.buffer).toBe(frame.buffer)
    expect(values[0]!.length).toBe(3 * (RECORD_HEADER_BYTES + 16))
    expect(storage.written.every((write) => write.adopt)).toBe(true)
    // Sealed in place: a fresh log reads them back with every checksum and the timestamp.
    const reopened = await SegmentedLog.open(storage, 'p0')
    expect(await reopened.readEntries(1, 4, 1 << 20)).toEqual(sent)
  })

  it('copies entries without headroom, and headroom too small to hold a header', async () => {
    const { storage, log } = await openLog()
    const plain = makeEntries(1, 2, 1)
    const cramped = new Uint8Array(RECORD_HEADER_BYTES - 1 + 16).subarray(RECORD_HEADER_BYTES - 1)
    reserveRecordHeadroom(cramped)
    const entries = [...plain, { index: 3, term: 1, type: 'normal' as const, data: cramped }]
    await log.persist({ entries, timestampMs: 0 })
    for (const value of chunkValues(storage)) {
      for (const entry of entries) expect(value.buffer).not.toBe(entry.data.buffer)
    }
    expect(await log.readEntries(1, 4, 1 << 20)).toEqual(entries)
  })

  it('headroom is used once: the same entries appended again are copied, the stored bytes untouched', async () => {
    const { storage, log } = await openLog()
    const { entries } = received(makeEntries(1, 3, 1))
    await log.persist({ entries, timestampMs: 1000 })
    const first = chunkValues(storage)[0]!
    const firstBytes = first.slice()
    // A conflicting suffix then the same entries again (a leader's retry after a truncation).
    await log.persist({ entries: makeEntries(2, 2, 2), timestampMs: 2000 })
    await log.persist({ entries: entries.slice(1).map((e) => ({ ...e, term: 3 })), timestampMs: 3000 })
    const again = chunkValues(storage)
    for (const value of again) expect(value.buffer).not.toBe(first.buffer)
    expect(first).toEqual(firstBytes)
    expect((await log.readEntries(1, 4, 1 << 20)).map((e) => [e.index, e.term])).toEqual([
      [1, 1],
      [2, 3],
      [3, 3],
    ])
  })

  it('seals large received entries from the data checksum the frame carries; damaged data fails its read', async () => {
    const { storage, log } = await openLog()
    const sent = makeEntries(1, 3, 1, 5000)
    const { entries } = received(sent)
    await log.persist({ entries, timestampMs: 1000 })
    const reopened = await SegmentedLog.open(storage, 'p0')
    expect(await reopened.readEntries(1, 4, 1 << 20)).toEqual(sent)

    // Data damaged after the sender's checksum (in transit, say): stored, but never read back as good.
    const other = await openLog()
    const damaged = received(makeEntries(1, 3, 1, 5000))
    damaged.entries[1]!.data[100]! ^= 1
    await other.log.persist({ entries: damaged.entries, timestampMs: 1000 })
    const read = await SegmentedLog.open(other.storage, 'p0').then(
      (opened) => opened.readEntries(1, 4, 1 << 20),
      (error: unknown) => error,
    )
    expect(isLaminarError(read) && read.code === 'STORAGE_CORRUPT').toBe(true)
  })
})
