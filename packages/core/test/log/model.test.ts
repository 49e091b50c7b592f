import { describe, expect, it } from 'vitest'
import { SegmentedLog, type SegmentedLogOptions } from '../../src/log/index'
import { type Entry, RaftLogError } from '../../src/raft/types'
import { JournalStorage } from './journal-storage'

/** A seeded generator (mulberry32), so a failing seed replays exactly. */
function seeded(seed: number): (bound: number) => number {
  let state = seed >>> 0
  return (bound) => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * bound)
  }
}

interface ModelEntry {
  entry: Entry
  timestampMs: number
}

/** The naive log: an array from firstIndex, the term before it, and the snapshot index. */
class Model {
  entries: ModelEntry[] = []
  startIndex = 0
  startTerm = 0
  snapshotIndex = 0
  lastTimestampMs = Number.NEGATIVE_INFINITY

  get lastIndex(): number {
    return this.startIndex + this.entries.length
  }

  term(index: number): number {
    return index === this.startIndex ? this.startTerm : this.entries[index - this.startIndex - 1]!.entry.term
  }

  clone(): Model {
    const copy = new Model()
    copy.entries = [...this.entries]
    copy.startIndex = this.startIndex
    copy.startTerm = this.startTerm
    copy.snapshotIndex = this.snapshotIndex
    copy.lastTimestampMs = this.lastTimestampMs
    return copy
  }

  dropBefore(firstIndex: number): void {
    const drop = firstIndex - 1 - this.startIndex
    if (drop <= 0) return
    this.startTerm = this.term(firstIndex - 1)
    this.entries.splice(0, drop)
    this.startIndex = firstIndex - 1
  }
}

async function readAll(log: SegmentedLog, lo: number, hi: number): Promise<Entry[]> {
  const result: Entry[] = []
  while (lo < hi) {
    const entries = await log.readEntries(lo, hi, 700)
    result.push(...entries)
    lo += entries.length
  }
  return result
}

/** Raft's synchronous path, retrying after each background load like a host would. */
async function raftReadAll(log: SegmentedLog, lo: number, hi: number): Promise<Entry[]> {
  const result: Entry[] = []
  for (let attempts = 0; lo < hi; attempts++) {
    expect(attempts).toBeLessThan(10_000)
    try {
      const entries = log.entries(lo, hi, 500)
      result.push(...entries)
      lo += entries.length
    } catch (error) {
      if (!(error instanceof RaftLogError) || error.kind !== 'temporarilyUnavailable') throw error
      await new Promise<void>((resolve) => {
        const off = log.onEntriesLoaded(() => {
          off()
          resolve()
        })
      })
    }
  }
  return result
}

async function check(log: SegmentedLog, model: Model, random: (bound: number) => number): Promise<void> {
  expect(log.firstIndex()).toBe(model.startIndex + 1)
  expect(log.lastIndex()).toBe(model.lastIndex)
  for (let index = model.startIndex; index <= model.lastIndex; index++)
    expect(log.term(index)).toBe(model.term(index))
  const expected = model.entries.map((item) => item.entry)
  expect(await readAll(log, model.startIndex + 1, model.lastIndex + 1)).toEqual(expected)
  const segments = log.segments()
  let next = model.startIndex + 1
  for (const segment of segments) {
    expect(segment.baseIndex).toBe(next)
    next = segment.lastIndex + 1
  }
  expect(next).toBe(model.lastIndex + 1)
  if (model.entries.length > 0) {
    const lo = model.startIndex + 1 + random(model.entries.length)
    expect(await raftReadAll(log, lo, model.lastIndex + 1)).toEqual(expected.slice(lo - model.startIndex - 1))
    for (let probe = 0; probe < 3; probe++) {
      const first = model.entries[0]!.timestampMs
      const t = first - 5 + random(model.lastTimestampMs - first + 10)
      const at = model.entries.find((item) => item.timestampMs >= t)
      expect(await log.firstIndexAtOrAfter(t)).toBe(at?.entry.index)
    }
  }
}

async function run(seed: number, steps: number): Promise<void> {
  const random = seeded(seed)
  const options: SegmentedLogOptions = {
    segmentBytesMax: 200 + random(600),
    entryCacheBytesMax: 300 + random(3000),
    timeIndexIntervalEntries: 1 + random(5),
    retentionBytesMax: 1000 + random(4000),
    retentionAgeMsMax: 50 + random(200),
    recoveryVerifyEntries: 1 + random(20),
    // Writes of up to 6 entries of up to 60 bytes: chunks of one entry to a whole write.
    chunkBytesMax: 40 + random(300),
  }
  let storage = new JournalStorage()
  await storage.open()
  let log = await SegmentedLog.open(storage, `model-${seed}`, options)
  let model = new Model()
  /** The model after each step, with the journal length before the step's writes. */
  const checkpoints: Array<{ journalFrom: number; model: Model }> = []
  /** The model that storage's durable (replayed) prefix holds. */
  let durableModel = new Model()
  let nowMs = 0
  let term = 1
  for (let step = 0; step < steps; step++) {
    const journalFrom = storage.journal.length
    let crashed = false
    nowMs += random(20)
    const action = random(100)
    if (action < 55) {
      // Append, possibly overwriting a suffix (a new leader's entries).
      const from = model.lastIndex + 1 - (random(4) === 0 ? random(Math.min(5, model.entries.length) + 1) : 0)
      if (from <= model.lastIndex) term++
      const count = 1 + random(6)
      const timestampMs = nowMs - random(3) // occasionally behind: clamped by the log
      const entries: Entry[] = Array.from({ length: count }, (_, i) => ({
        index: from + i,
        term,
        type: random(10) === 0 ? 'confChange' : 'normal',
        data: Uint8Array.from({ length: random(60) }, () => random(256)),
      }))
      await log.persist({ entries, timestampMs }, { sync: random(3) === 0 })
      model.entries.splice(from - model.startIndex - 1)
      model.lastTimestampMs = Math.max(model.lastTimestampMs, timestampMs)
      for (const entry of entries) model.entries.push({ entry, timestampMs: model.lastTimestampMs })
    } else if (action < 65 && model.lastIndex > model.snapshotIndex) {
      const index = model.snapshotIndex + 1 + random(model.lastIndex - model.snapshotIndex)
      if (index > model.startIndex) {
        const confState = {
          voters: ['a'],
          votersOutgoing: [],
          learners: [],
          learnersNext: [],
          autoLeave: false,
        }
        await log.createSnapshot({
          metadata: { index, term: model.term(index), confState },
          data: Uint8Array.of(1),
        })
        model.snapshotIndex = index
      }
    } else if (action < 72) {
      const firstIndex = await log.compact(model.startIndex + random(model.entries.length + 2))
      expect(firstIndex).toBeLessThanOrEqual(Math.max(model.snapshotIndex, model.startIndex) + 1)
      expect(firstIndex).toBeGreaterThanOrEqual(model.startIndex + 1)
      model.dropBefore(firstIndex)
    } else if (action < 80) {
      const retainFromIndexMin = model.startIndex + 1 + random(model.entries.length + 1)
      const result = await log.applyRetention({ nowMs, retainFromIndexMin })
      expect(result.firstIndex).toBeLessThanOrEqual(Math.max(retainFromIndexMin, model.startIndex + 1))
      model.dropBefore(result.firstIndex)
    } else if (action < 83) {
      // A snapshot from the leader: the log is replaced.
      term++
      const index = model.lastIndex + random(10) - 3
      if (index > model.snapshotIndex && index > model.startIndex) {
        const confState = {
          voters: ['b'],
          votersOutgoing: [],
          learners: [],
          learnersNext: [],
          autoLeave: false,
        }
        await log.persist({ snapshot: { metadata: { index, term, confState }, data: Uint8Array.of(2) } })
        model.entries = []
        model.startIndex = index
        model.startTerm = term
        model.snapshotIndex = index
      }
    } else if (action < 88) {
      log = await SegmentedLog.open(storage, `model-${seed}`, options)
      expect(log.recovery.cutFromIndex).toBeUndefined()
      model.lastTimestampMs = log.segments().at(-1)?.lastTimestampMs ?? Number.NEGATIVE_INFINITY
    } else if (action < 93) {
      // Crash: unsynced writes after the last sync may be lost, each write all or nothing.
      const keepMin = storage.survivingLengthMin()
      const keep = keepMin + random(storage.journal.length - keepMin + 1)
      storage = await storage.crash(keep)
      let survivor = durableModel
      for (const checkpoint of checkpoints) if (checkpoint.journalFrom < keep) survivor = checkpoint.model
      model = survivor.clone()
      durableModel = survivor
      log = await SegmentedLog.open(storage, `model-${seed}`, options)
      expect(log.recovery.cutFromIndex).toBeUndefined()
      model.lastTimestampMs = log.segments().at(-1)?.lastTimestampMs ?? Number.NEGATIVE_INFINITY
      checkpoints.length = 0
      crashed = true
    } else {
      const hardState = {
        term,
        vote: random(2) === 0 ? '' : 'n1',
        commit: model.startIndex + random(model.entries.length + 1),
      }
      await log.persist({ hardState })
      expect(log.hardState()).toEqual(hardState)
    }
    if (!crashed && storage.journal.length > journalFrom)
      checkpoints.push({ journalFrom, model: model.clone() })
    await check(log, model, random)
  }
}

describe('SegmentedLog against a naive model', () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`agrees through random appends, truncations, snapshots, compaction, retention, reopens and crashes (seed ${seed})`, async () => {
      await run(seed, 250)
    })
  }
})
