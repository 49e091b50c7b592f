/** Unit tests of the building blocks: quorums, inflights, progress, the conf change codec, MemoryLogStorage. */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  decodeConfChange,
  encodeConfChange,
  isRaftError,
  MemoryLogStorage,
  RaftLogError,
} from '../../src/raft/index'
import { Inflights } from '../../src/raft/inflights'
import { Progress } from '../../src/raft/progress'
import {
  jointCommittedIndex,
  jointVoteResult,
  majorityCommittedIndex,
  majorityVoteResult,
} from '../../src/raft/quorum'
import type { ConfChange } from '../../src/raft/types'
import { entriesWithTerms } from './helpers'

function naiveCommittedIndex(ids: string[], acked: Map<string, number>): number {
  if (ids.length === 0) return Number.MAX_SAFE_INTEGER
  // The largest index that a majority has acknowledged (brute force over candidates).
  let best = 0
  for (const candidate of [0, ...acked.values()]) {
    const count = ids.filter((id) => (acked.get(id) ?? 0) >= candidate).length
    if (count > ids.length / 2 && candidate > best) best = candidate
  }
  return best
}

describe('quorum', () => {
  it('majority committed index matches a brute-force computation', () => {
    fc.assert(
      fc.property(fc.array(fc.option(fc.nat(20), { nil: undefined }), { maxLength: 7 }), (indexes) => {
        const ids = indexes.map((_, i) => `n${i}`)
        const acked = new Map<string, number>()
        indexes.forEach((index, i) => {
          if (index !== undefined) acked.set(`n${i}`, index)
        })
        expect(majorityCommittedIndex(new Set(ids), (id) => acked.get(id))).toBe(
          naiveCommittedIndex(ids, acked),
        )
      }),
    )
  })

  it('joint committed index is the minimum of both halves; an empty half does not constrain', () => {
    const acked = new Map([
      ['a', 5],
      ['b', 3],
      ['c', 1],
      ['d', 9],
    ])
    const lookup = (id: string) => acked.get(id)
    expect(jointCommittedIndex([new Set(['a', 'b', 'c']), new Set()], lookup)).toBe(3)
    expect(jointCommittedIndex([new Set(['a', 'b', 'c']), new Set(['a', 'd'])], lookup)).toBe(3)
    expect(jointCommittedIndex([new Set(['a', 'd']), new Set(['b', 'c'])], lookup)).toBe(1)
  })

  it('vote results: won, lost and pending, for majority and joint configs', () => {
    const votes = new Map([
      ['a', true],
      ['b', false],
    ])
    expect(majorityVoteResult(new Set(['a']), votes)).toBe('won')
    expect(majorityVoteResult(new Set(['a', 'b', 'c']), votes)).toBe('pending')
    expect(majorityVoteResult(new Set(['b', 'c', 'd']), new Map([...votes, ['c', false]]))).toBe('lost')
    expect(majorityVoteResult(new Set(), votes)).toBe('won')
    expect(jointVoteResult([new Set(['a']), new Set(['b'])], votes)).toBe('lost')
    expect(jointVoteResult([new Set(['a']), new Set(['c'])], votes)).toBe('pending')
    expect(jointVoteResult([new Set(['a']), new Set()], votes)).toBe('won')
  })
})

describe('inflights', () => {
  it('is bounded, frees up to an index, and wraps around', () => {
    const inflights = new Inflights(3)
    inflights.add(1)
    inflights.add(2)
    inflights.add(3)
    expect(inflights.full()).toBe(true)
    expect(() => inflights.add(4)).toThrow()
    inflights.freeLE(2)
    expect(inflights.size).toBe(1)
    inflights.add(4)
    inflights.add(5)
    expect(inflights.full()).toBe(true)
    inflights.freeFirstOne()
    expect(inflights.size).toBe(2)
    inflights.freeLE(10)
    expect(inflights.size).toBe(0)
    inflights.freeLE(10)
    expect(inflights.size).toBe(0)
  })
})

describe('progress', () => {
  it('probe: only the rejection of the last probe moves next back, to the hint', () => {
    const progress = new Progress(5, 10, 4, false, true)
    expect(progress.maybeDecrTo(8, 7)).toBe(false)
    expect(progress.maybeDecrTo(9, 7)).toBe(true)
    expect(progress.next).toBe(8)
    // Never below match + 1.
    progress.next = 7
    expect(progress.maybeDecrTo(6, 1)).toBe(true)
    expect(progress.next).toBe(6)
  })

  it('replicate: a stale rejection is ignored, a fresh one goes back to match + 1', () => {
    const progress = new Progress(5, 10, 4, false, true)
    progress.becomeReplicate()
    progress.next = 10
    expect(progress.maybeDecrTo(4, 4)).toBe(false)
    expect(progress.maybeDecrTo(9, 9)).toBe(true)
    expect(progress.next).toBe(6)
  })

  it('pauses: probe after one send, replicate when the inflights are full, snapshot always', () => {
    const progress = new Progress(0, 1, 2, false, true)
    expect(progress.isPaused()).toBe(false)
    progress.sentEntries(1)
    expect(progress.isPaused()).toBe(true)
    progress.becomeReplicate()
    progress.sentEntries(1)
    progress.sentEntries(1)
    expect(progress.isPaused()).toBe(true)
    progress.becomeSnapshot(10)
    expect(progress.isPaused()).toBe(true)
    expect(progress.next).toBe(11)
  })
})

describe('conf change codec', () => {
  const changeArbitrary: fc.Arbitrary<ConfChange> = fc.record({
    transition: fc.constantFrom('auto' as const, 'implicit' as const, 'explicit' as const),
    changes: fc.array(
      fc.record({
        type: fc.constantFrom('addNode' as const, 'addLearner' as const, 'removeNode' as const),
        nodeId: fc.string({ maxLength: 20 }),
      }),
      { maxLength: 6 },
    ),
  })

  it('round-trips any conf change', () => {
    fc.assert(
      fc.property(
        changeArbitrary,
        fc.option(fc.uint8Array({ minLength: 1, maxLength: 16 }), { nil: undefined }),
        (change, context) => {
          const withContext = context ? { ...change, context } : change
          expect(decodeConfChange(encodeConfChange(withContext))).toEqual(withContext)
        },
      ),
    )
  })

  it('rejects malformed bytes with invalidConfChange', () => {
    const valid = encodeConfChange({ transition: 'auto', changes: [{ type: 'addNode', nodeId: 'n1' }] })
    for (const bad of [
      new Uint8Array(0),
      valid.slice(0, valid.length - 1),
      new Uint8Array([9, 0, 0, 0, 0, 0, 0, 0]),
    ]) {
      let error: unknown
      try {
        decodeConfChange(bad)
      } catch (caught) {
        error = caught
      }
      expect(isRaftError(error, 'invalidConfChange')).toBe(true)
    }
  })
})

describe('MemoryLogStorage', () => {
  function storageWith(terms: number[], firstIndex: number): MemoryLogStorage {
    const storage = new MemoryLogStorage()
    // A snapshot at firstIndex - 1 makes the log start where the case wants it.
    if (firstIndex > 1) {
      storage.applySnapshot({
        metadata: {
          index: firstIndex - 1,
          term: terms[0] ?? 0,
          confState: { voters: ['a'], votersOutgoing: [], learners: [], learnersNext: [], autoLeave: false },
        },
        data: new Uint8Array(0),
      })
    }
    storage.append(entriesWithTerms(terms, firstIndex))
    return storage
  }

  it('answers term() in [firstIndex - 1, lastIndex] and throws compacted / unavailable outside', () => {
    const storage = storageWith([3, 4, 5], 4)
    expect(storage.term(3)).toBe(3)
    expect(storage.term(5)).toBe(4)
    expect(() => storage.term(2)).toThrow(RaftLogError)
    expect(() => storage.term(7)).toThrow(RaftLogError)
    expect(storage.firstIndex()).toBe(4)
    expect(storage.lastIndex()).toBe(6)
  })

  it('limits entries() by bytes but always returns at least one', () => {
    const storage = new MemoryLogStorage()
    storage.append([1, 2, 3].map((index) => ({ term: 1, index, type: 'normal', data: new Uint8Array(100) })))
    expect(storage.entries(1, 4, 0)).toHaveLength(1)
    expect(storage.entries(1, 4, 200)).toHaveLength(2)
    expect(storage.entries(1, 4, Number.POSITIVE_INFINITY)).toHaveLength(3)
  })

  it('append truncates a conflicting suffix and ignores entries below firstIndex', () => {
    const storage = storageWith([3, 4, 5], 4)
    storage.append(entriesWithTerms([6, 6], 5))
    expect([4, 5, 6].map((i) => storage.term(i))).toEqual([3, 6, 6])
    // Everything from the first appended index on is replaced (the host persists a Ready's suffix).
    storage.append(entriesWithTerms([1, 1, 3, 7], 1))
    expect(storage.term(4)).toBe(7)
    expect(storage.lastIndex()).toBe(4)
  })

  it('compact keeps the term of the compaction point and refuses to go backwards', () => {
    const storage = storageWith([1, 2, 3, 4], 1)
    storage.compact(2)
    expect(storage.firstIndex()).toBe(3)
    expect(storage.term(2)).toBe(2)
    expect(() => storage.compact(2)).toThrow(RaftLogError)
    const confState = { voters: ['a'], votersOutgoing: [], learners: [], learnersNext: [], autoLeave: false }
    const snapshot = storage.createSnapshot(3, confState, new Uint8Array([1]))
    expect(snapshot.metadata).toMatchObject({ index: 3, term: 3 })
    expect(() => storage.createSnapshot(3, confState, new Uint8Array(0))).toThrow()
  })
})
