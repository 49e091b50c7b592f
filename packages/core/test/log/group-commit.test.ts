import { describe, expect, it } from 'vitest'
import { isLaminarError, type LaminarError } from '../../src/errors/laminar-error'
import { GroupCommit, SegmentedLog } from '../../src/log/index'
import type { StorageOperation } from '../../src/ports/storage'
import { caught, makeEntries } from './helpers'
import { TestMemoryStorage } from './memory-storage'

class FailingStorage extends TestMemoryStorage {
  failNext = false
  protected override async _write(operations: readonly StorageOperation[], options: { sync: boolean }) {
    if (this.failNext) {
      this.failNext = false
      throw new Error('disk full')
    }
    return super._write(operations, options)
  }

  failNextRange = false
  protected override async _range(options: {
    gte: Uint8Array | undefined
    lt: Uint8Array | undefined
    reverse: boolean
    limit: number
  }) {
    if (this.failNextRange) {
      this.failNextRange = false
      throw new Error('read error')
    }
    return super._range(options)
  }
}

describe('GroupCommit', () => {
  it('writes the Ready of 16 logs staged in one turn as one storage write and one sync', async () => {
    const storage = await TestMemoryStorage.create()
    const logs = await Promise.all(
      Array.from({ length: 16 }, (_, i) => SegmentedLog.open(storage, `topic/${i}`)),
    )
    const groupCommit = new GroupCommit(storage)
    const writesBefore = storage.writes
    await Promise.all(
      logs.map((log, i) =>
        groupCommit.commit(
          log.stage({
            entries: makeEntries(1, 3 + i, 1),
            hardState: { term: 1, vote: 'n1', commit: 1 },
            timestampMs: 5,
          }),
          { sync: i === 7 },
        ),
      ),
    )
    expect(storage.writes - writesBefore).toBe(1)
    expect(storage.syncedWrites).toBe(1)
    expect(groupCommit.stats).toEqual({ storageWrites: 1, stagedWrites: 16, syncedWrites: 1 })
    for (let i = 0; i < 16; i++) {
      const reopened = await SegmentedLog.open(storage, `topic/${i}`)
      expect(reopened.lastIndex()).toBe(3 + i)
      expect(reopened.hardState()).toEqual({ term: 1, vote: 'n1', commit: 1 })
    }
  })

  it('keeps each log in order: writes arriving during a write join the next one', async () => {
    const storage = await TestMemoryStorage.create()
    const log = await SegmentedLog.open(storage, 'p')
    const groupCommit = new GroupCommit(storage)
    const first = groupCommit.commit(log.stage({ entries: makeEntries(1, 5, 1), timestampMs: 0 }))
    await Promise.resolve()
    await Promise.resolve()
    const second = groupCommit.commit(log.stage({ entries: makeEntries(4, 6, 2), timestampMs: 1 }))
    const third = groupCommit.commit(log.stage({ entries: makeEntries(7, 7, 2), timestampMs: 1 }))
    await Promise.all([first, second, third])
    expect(groupCommit.stats.storageWrites).toBe(2)
    const reopened = await SegmentedLog.open(storage, 'p')
    expect((await reopened.readEntries(1, 8, 1 << 20)).map((e) => [e.index, e.term])).toEqual([
      [1, 1],
      [2, 1],
      [3, 1],
      [4, 2],
      [5, 2],
      [6, 2],
      [7, 2],
    ])
  })

  it('splits a group over operationsPerWriteMax and bounds waiting writes with BUFFER_FULL', async () => {
    const storage = await TestMemoryStorage.create()
    const logs = await Promise.all(Array.from({ length: 4 }, (_, i) => SegmentedLog.open(storage, `g${i}`)))
    const groupCommit = new GroupCommit(storage, { operationsPerWriteMax: 8, pendingWritesMax: 3 })
    const commits = logs
      .slice(0, 3)
      .map((log) => groupCommit.commit(log.stage({ entries: makeEntries(1, 5, 1), timestampMs: 0 })))
    const overflow = await caught(() =>
      groupCommit.commit(logs[3]!.stage({ entries: makeEntries(1, 1, 1), timestampMs: 0 })),
    )
    expect(isLaminarError(overflow, 'BUFFER_FULL')).toBe(true)
    await Promise.all(commits)
    expect(groupCommit.stats.storageWrites).toBe(3)
    expect(
      isLaminarError(
        await caught(() => new GroupCommit(storage, { pendingWritesMax: 0 })),
        'INVALID_ARGUMENT',
      ),
    ).toBe(true)
  })

  it('rejects every member of a failed write and refuses further writes to those logs', async () => {
    const storage = new FailingStorage()
    await storage.open()
    const a = await SegmentedLog.open(storage, 'a')
    const b = await SegmentedLog.open(storage, 'b')
    const groupCommit = new GroupCommit(storage)
    storage.failNext = true
    const results = await Promise.allSettled([
      groupCommit.commit(a.stage({ entries: makeEntries(1, 2, 1), timestampMs: 0 })),
      groupCommit.commit(b.stage({ entries: makeEntries(1, 2, 1), timestampMs: 0 })),
    ])
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected'])
    const error = await caught(() => a.stage({ entries: makeEntries(3, 3, 1), timestampMs: 0 }))
    expect(isLaminarError(error, 'STORAGE_FAILED')).toBe(true)
    expect(((error as LaminarError).cause as Error).message).toBe('disk full')
    // The storage itself is fine: a reopened log continues from what was written (nothing).
    const reopened = await SegmentedLog.open(storage, 'a')
    expect(reopened.lastIndex()).toBe(0)
    await reopened.persist({ entries: makeEntries(1, 1, 1), timestampMs: 0 })
    expect(reopened.lastIndex()).toBe(1)
  })

  it('carries snapshot creation, compaction and retention of a log in order with its appends', async () => {
    const storage = await TestMemoryStorage.create()
    // Three 16-byte entries of one write: a 12-byte chunk key (group 'p') and 3 records of 33 + 16 bytes.
    const threeEntriesBytes = 12 + 3 * 49
    const log = await SegmentedLog.open(storage, 'p', {
      segmentBytesMax: threeEntriesBytes,
      retentionBytesMax: threeEntriesBytes,
    })
    const groupCommit = new GroupCommit(storage)
    const confState = { voters: ['a'], votersOutgoing: [], learners: [], learnersNext: [], autoLeave: false }
    const commits = [
      groupCommit.commit(log.stage({ entries: makeEntries(1, 9, 1), timestampMs: 0 })),
      groupCommit.commit(
        log.stageCreateSnapshot({ metadata: { index: 4, term: 1, confState }, data: Uint8Array.of(9) }),
      ),
    ]
    const compaction = log.stageCompact(9)
    expect(compaction).toBeDefined()
    commits.push(groupCommit.commit(compaction!))
    commits.push(groupCommit.commit(log.stage({ entries: makeEntries(10, 12, 2), timestampMs: 1 })))
    const retention = log.stageRetention({ nowMs: 2, retainFromIndexMin: 8 })
    expect(retention.segmentsDropped).toBe(1)
    commits.push(groupCommit.commit(retention.staged!))
    expect(log.stageCompact(3)).toBeUndefined()
    await Promise.all(commits)
    expect(groupCommit.stats.storageWrites).toBe(1)
    const reopened = await SegmentedLog.open(storage, 'p')
    expect([reopened.firstIndex(), reopened.lastIndex(), reopened.latestSnapshot().metadata.index]).toEqual([
      7, 12, 4,
    ])
    // Retention went past the snapshot (retainFromIndexMin allowed it): Raft gets no stale snapshot.
    expect(() => reopened.snapshot()).toThrow(/does not reach/)
    expect(reopened.recovery.entriesBelowStartRemoved).toBe(false)
    expect((await reopened.readEntries(7, 13, 1 << 20)).map((e) => e.index)).toEqual([7, 8, 9, 10, 11, 12])
  })

  it('fails alone a write whose prepare step (a truncation read from storage) fails', async () => {
    const storage = new FailingStorage()
    await storage.open()
    // A one-entry cache: the truncation at 3 falls in a chunk the cache no longer holds.
    const a = await SegmentedLog.open(storage, 'a', { entryCacheBytesMax: 1 })
    const b = await SegmentedLog.open(storage, 'b')
    await a.persist({ entries: makeEntries(1, 10, 1), timestampMs: 0 })
    const groupCommit = new GroupCommit(storage)
    const truncation = a.stage({ entries: makeEntries(3, 3, 2), timestampMs: 1 })
    expect(truncation.prepare).toBeDefined()
    storage.failNextRange = true
    const results = await Promise.allSettled([
      groupCommit.commit(truncation),
      groupCommit.commit(b.stage({ entries: makeEntries(1, 2, 1), timestampMs: 0 })),
    ])
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled'])
    expect(
      isLaminarError(
        await caught(() => a.stage({ hardState: { term: 2, vote: '', commit: 0 } })),
        'STORAGE_FAILED',
      ),
    ).toBe(true)
    // Storage holds a's first write untouched; b's write landed.
    const reopened = await SegmentedLog.open(storage, 'a')
    expect([reopened.lastIndex(), reopened.term(3)]).toEqual([10, 1])
    expect((await SegmentedLog.open(storage, 'b')).lastIndex()).toBe(2)
  })
})
