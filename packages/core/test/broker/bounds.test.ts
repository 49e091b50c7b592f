import { describe, expect, it } from 'vitest'
import { INDEX_ENTRIES_MAX, OffsetIndex } from '../../src/broker/offset-index'
import { PRODUCER_RECENT_BATCHES_MAX, ProducerTable } from '../../src/broker/producer-table'
import { GROUPS_MAX, PartitionStateMachine, PRODUCERS_MAX } from '../../src/index'
import { append, expectType } from './helpers'

describe('bounds of the replicated state', () => {
  it('thins the sparse offset index past its entry limit and still locates every offset', () => {
    const index = new OffsetIndex(1)
    const appends = INDEX_ENTRIES_MAX + 10
    for (let i = 0; i < appends; i++) index.onAppend(i + 1, i * 2, i)
    expect(index.entryCount).toBeLessThanOrEqual(INDEX_ENTRIES_MAX)
    for (const offset of [0, 1, 2, 777, 2 * appends - 1]) {
      const location = index.locate(offset)!
      expect(location.offset).toBeLessThanOrEqual(offset)
      // The entry really is the append at that Raft index (offset 2(i-1) at index i).
      expect(location.offset).toBe(2 * (location.index - 1))
      expect(offset - location.offset).toBeLessThan(8)
    }
    // Merged stretches keep the largest timestamp, so seek by time stays a lower bound.
    expect(index.offsetForTime(1001)).toBeLessThanOrEqual(2 * 1001)
  })

  it('forgets the least recently appending producer first', () => {
    const table = new ProducerTable()
    for (let i = 0; i <= PRODUCERS_MAX; i++) table.record(`p${i}`, 0, i, 1)
    expect(table.size).toBe(PRODUCERS_MAX)
    expect(table.check('p0', 5)).toEqual({ kind: 'new' })
    expect(table.check('p1', 5)).toEqual({ kind: 'outOfOrder', expectedSequence: 1 })
    for (let sequence = 1; sequence <= PRODUCER_RECENT_BATCHES_MAX; sequence++)
      table.record('p1', sequence, sequence, 1)
    expect(table.check('p1', 0)).toEqual({
      kind: 'outOfOrder',
      expectedSequence: PRODUCER_RECENT_BATCHES_MAX + 1,
    })
    expect(table.check('p1', 1)).toEqual({ kind: 'duplicate', baseOffset: 1, count: 1 })
  })

  it('limits groups per partition, stream-reader positions included', () => {
    const sm = new PartitionStateMachine()
    sm.apply(1, append(1))
    let index = 2
    for (let i = 0; i < GROUPS_MAX - 1; i++) sm.apply(index++, { type: 'groupCreate', group: `g${i}` })
    expectType(sm.apply(index++, { type: 'commitOffset', group: 'reader', offset: 1 }), 'commitOffset')
    const refused = sm.apply(index++, { type: 'groupCreate', group: 'one-too-many' })
    expect(expectType(refused, 'error').code).toBe('INVALID_ARGUMENT')
    const refusedReader = sm.apply(index++, { type: 'commitOffset', group: 'reader2', offset: 0 })
    expect(expectType(refusedReader, 'error').code).toBe('INVALID_ARGUMENT')
    // A name already holding a slot may become a consumer group too.
    expect(expectType(sm.apply(index++, { type: 'groupCreate', group: 'reader' }), 'group').created).toBe(
      true,
    )
  })
})
