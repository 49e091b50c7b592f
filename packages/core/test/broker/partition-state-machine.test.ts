import { describe, expect, it } from 'vitest'
import {
  ACK_WINDOW_MAX,
  encodePartitionCommand,
  isLaminarError,
  type PartitionCommand,
  PartitionStateMachine,
} from '../../src/index'
import { append, batchOf, expectType, record } from './helpers'

/** Apply commands at consecutive indexes from `startIndex`, returning the results. */
function applyAll(sm: PartitionStateMachine, commands: PartitionCommand[], startIndex = sm.appliedIndex + 1) {
  return commands.map((command, i) => sm.apply(startIndex + i, command))
}

describe('PartitionStateMachine: appends', () => {
  it('assigns dense offsets in apply order', () => {
    const sm = new PartitionStateMachine()
    const results = applyAll(sm, [append(3), append(1), append(5)])
    expect(results.map((r) => expectType(r, 'append').baseOffset)).toEqual([0, 3, 4])
    expect(sm.endOffset).toBe(9)
    expect(sm.appliedIndex).toBe(3)
  })

  it('answers an idempotent retry with the original offsets and writes nothing', () => {
    const sm = new PartitionStateMachine()
    const first = sm.apply(1, append(2, { producerId: 'p', sequence: 0 }))
    sm.apply(2, append(3))
    const retry = sm.apply(3, append(2, { producerId: 'p', sequence: 0 }))
    expect(expectType(first, 'append')).toMatchObject({ baseOffset: 0, count: 2, duplicate: false })
    expect(expectType(retry, 'append')).toMatchObject({ baseOffset: 0, count: 2, duplicate: true })
    expect(sm.endOffset).toBe(5)
    expect(sm.isSkippedAppend(3)).toBe(true)
    expect(sm.isSkippedAppend(2)).toBe(false)
    const next = sm.apply(4, append(1, { producerId: 'p', sequence: 1 }))
    expect(expectType(next, 'append')).toMatchObject({ baseOffset: 5, duplicate: false })
  })

  it('answers pipelined retries of older batches too', () => {
    const sm = new PartitionStateMachine()
    applyAll(
      sm,
      [0, 1, 2, 3].map((sequence) => append(1, { producerId: 'p', sequence })),
    )
    const retry = sm.apply(5, append(1, { producerId: 'p', sequence: 1 }))
    expect(expectType(retry, 'append')).toMatchObject({ baseOffset: 1, duplicate: true })
  })

  it('rejects a sequence gap with OUT_OF_ORDER_SEQUENCE and assigns no offsets', () => {
    const sm = new PartitionStateMachine()
    sm.apply(1, append(1, { producerId: 'p', sequence: 4 }))
    const gap = sm.apply(2, append(1, { producerId: 'p', sequence: 6 }))
    expect(expectType(gap, 'error').code).toBe('OUT_OF_ORDER_SEQUENCE')
    expect(sm.endOffset).toBe(1)
    expect(sm.isSkippedAppend(2)).toBe(true)
    expect(expectType(sm.apply(3, append(1, { producerId: 'p', sequence: 5 })), 'append').baseOffset).toBe(1)
  })

  it('rejects invalid appends with INVALID_ARGUMENT', () => {
    const sm = new PartitionStateMachine()
    expect(expectType(sm.apply(1, append(0)), 'error').code).toBe('INVALID_ARGUMENT')
    expect(expectType(sm.apply(2, append(1, { producerId: 'p' })), 'error').code).toBe('INVALID_ARGUMENT')
    expect(expectType(sm.apply(3, append(1, { producerId: 'p', sequence: -1 })), 'error').code).toBe(
      'INVALID_ARGUMENT',
    )
    expect(sm.endOffset).toBe(0)
  })

  it('turns corrupt entry data into a STORAGE_CORRUPT result and skips no-ops', () => {
    const sm = new PartitionStateMachine()
    expect(sm.applyEntry(1, new Uint8Array(0))).toBeUndefined()
    expect(expectType(sm.applyEntry(2, new Uint8Array([1, 1, 0xc1])), 'error').code).toBe('STORAGE_CORRUPT')
    expect(expectType(sm.applyEntry(3, encodePartitionCommand(append(2))), 'append').baseOffset).toBe(0)
    expect(sm.appliedIndex).toBe(3)
  })

  it('refuses to apply an index twice', () => {
    const sm = new PartitionStateMachine()
    sm.apply(5, append(1))
    expect(() => sm.apply(5, append(1))).toThrow(expect.objectContaining({ code: 'INTERNAL' }))
  })

  it('locates offsets through the sparse index and seeks by time', () => {
    const sm = new PartitionStateMachine({ indexIntervalRecords: 10 })
    let index = 1
    for (let batch = 0; batch < 10; batch++) {
      const records = Array.from({ length: 4 }, (_, i) => record(i, null, 1000 + batch * 100 + i))
      sm.apply(index++, { type: 'groupCreate', group: `g${batch}` })
      sm.apply(index++, { type: 'append', batch: batchOf(records) })
    }
    expect(sm.endOffset).toBe(40)
    // Batch b starts at offset 4b, applied at index 2b+2; entries every >= 10 records: batches 0, 3, 6, 9.
    expect(sm.locate(0)).toEqual({ offset: 0, index: 2 })
    expect(sm.locate(11)).toEqual({ offset: 0, index: 2 })
    expect(sm.locate(12)).toEqual({ offset: 12, index: 8 })
    expect(sm.locate(39)).toEqual({ offset: 36, index: 20 })
    expect(sm.locate(40)).toBeUndefined()
    expect(sm.offsetForTime(0)).toBe(0)
    expect(sm.offsetForTime(1450)).toBe(12) // batch 4 (t=1400..1403) is in the stretch from batch 3
    expect(sm.offsetForTime(99_999)).toBe(40)
  })

  it('moves logStartOffset and group floors when retention drops a log prefix', () => {
    const sm = new PartitionStateMachine({ indexIntervalRecords: 1 })
    applyAll(sm, [append(5), { type: 'groupCreate', group: 'g' }, append(5), append(5)])
    sm.truncatePrefix(3)
    expect(sm.logStartOffset).toBe(5)
    expect(sm.group('g')?.ackFloor).toBe(5)
    expect(sm.locate(4)).toBeUndefined()
    expect(sm.locate(7)).toEqual({ offset: 5, index: 3 })
    sm.truncatePrefix(100)
    expect(sm.logStartOffset).toBe(15)
  })
})

describe('PartitionStateMachine: consumer groups', () => {
  it('advances the ack floor over contiguous acks and keeps the acked set above it', () => {
    const sm = new PartitionStateMachine()
    applyAll(sm, [{ type: 'groupCreate', group: 'g' }, append(10)])
    expectType(sm.apply(3, { type: 'ack', group: 'g', offsets: [1, 2, 5] }), 'group')
    expect(sm.group('g')).toMatchObject({ ackFloor: 0, acked: [1, 2, 5] })
    const result = sm.apply(4, { type: 'ack', group: 'g', offsets: [0, 3] })
    expect(expectType(result, 'group').ackFloor).toBe(4)
    expect(sm.group('g')).toMatchObject({ ackFloor: 4, acked: [5] })
    expect(sm.groupSummary('g')).toMatchObject({ ackFloor: 4, ackedAboveFloor: 1 })
    expect(sm.hasGroup('g')).toBe(true)
    expect(sm.hasGroup('h')).toBe(false)
    sm.apply(5, { type: 'deadLettered', group: 'g', offsets: [4] })
    expect(sm.group('g')).toMatchObject({ ackFloor: 6, acked: [] })
  })

  it('ignores acks for offsets not written yet or beyond the ack window', () => {
    const sm = new PartitionStateMachine()
    applyAll(sm, [{ type: 'groupCreate', group: 'g' }, append(3)])
    sm.apply(3, { type: 'ack', group: 'g', offsets: [3, 10, ACK_WINDOW_MAX + 1] })
    expect(sm.group('g')).toMatchObject({ ackFloor: 0, acked: [] })
  })

  it('takes one ack batch longer than the window when it is contiguous from the floor', () => {
    const sm = new PartitionStateMachine()
    const count = ACK_WINDOW_MAX + 100
    applyAll(sm, [{ type: 'groupCreate', group: 'g' }, append(count)])
    const offsets = Array.from({ length: count }, (_, i) => count - 1 - i)
    expect(expectType(sm.apply(3, { type: 'ack', group: 'g', offsets }), 'group').ackFloor).toBe(count)
  })

  it('counts redeliveries and forgets them once acked', () => {
    const sm = new PartitionStateMachine()
    applyAll(sm, [
      { type: 'groupCreate', group: 'g', config: { maxDeliveries: 3 } },
      append(3),
      { type: 'delivered', group: 'g', offsets: [1, 2] },
      { type: 'delivered', group: 'g', offsets: [1] },
    ])
    expect(sm.group('g')?.deliveryCounts).toEqual([
      [1, 3],
      [2, 2],
    ])
    sm.apply(5, { type: 'ack', group: 'g', offsets: [1] })
    expect(sm.group('g')?.deliveryCounts).toEqual([[2, 2]])
  })

  it('starts a group at earliest, latest, an offset or a time', () => {
    const sm = new PartitionStateMachine({ indexIntervalRecords: 1 })
    sm.apply(1, { type: 'append', batch: batchOf([record(0, null, 100), record(1, null, 100)]) })
    sm.apply(2, { type: 'append', batch: batchOf([record(2, null, 200), record(3, null, 200)]) })
    const floors = applyAll(sm, [
      { type: 'groupCreate', group: 'a' },
      { type: 'groupCreate', group: 'b', config: { startPosition: { type: 'latest' } } },
      { type: 'groupCreate', group: 'c', config: { startPosition: { type: 'offset', offset: 3 } } },
      { type: 'groupCreate', group: 'd', config: { startPosition: { type: 'offset', offset: 99 } } },
      { type: 'groupCreate', group: 'e', config: { startPosition: { type: 'time', timestampMs: 150 } } },
    ]).map((r) => expectType(r, 'group').ackFloor)
    expect(floors).toEqual([0, 4, 3, 4, 2])
  })

  it('answers an existing group without changing it, and validates names and config', () => {
    const sm = new PartitionStateMachine()
    expect(expectType(sm.apply(1, { type: 'groupCreate', group: 'g' }), 'group').created).toBe(true)
    const again = sm.apply(2, { type: 'groupCreate', group: 'g', config: { ackWaitMs: 5 } })
    expect(expectType(again, 'group').created).toBe(false)
    expect(sm.group('g')?.config.ackWaitMs).toBe(30_000)
    const codes = applyAll(sm, [
      { type: 'groupCreate', group: 'bad name' },
      { type: 'groupCreate', group: 'x', config: { ackWaitMs: 0 } },
      { type: 'groupCreate', group: 'x', config: { deadLetterTopic: 'no/slash' } },
      { type: 'groupConfig', group: 'missing', config: {} },
      { type: 'ack', group: 'missing', offsets: [0] },
      { type: 'ack', group: 'g', offsets: [-1] },
      { type: 'commitOffset', group: 'r', offset: 5 },
    ]).map((r) => expectType(r, 'error').code)
    expect(codes).toEqual([
      'INVALID_ARGUMENT',
      'INVALID_ARGUMENT',
      'INVALID_ARGUMENT',
      'GROUP_NOT_FOUND',
      'GROUP_NOT_FOUND',
      'INVALID_ARGUMENT',
      'OFFSET_OUT_OF_RANGE',
    ])
    sm.apply(20, { type: 'groupConfig', group: 'g', config: { ackWaitMs: 5, perKeyOrdering: true } })
    expect(sm.group('g')?.config).toMatchObject({ ackWaitMs: 5, perKeyOrdering: true })
    // Fields left undefined (a client's optional options) keep their current or default values.
    sm.apply(21, { type: 'groupConfig', group: 'g', config: { ackWaitMs: undefined, maxDeliveries: 4 } })
    expect(sm.group('g')?.config).toMatchObject({ ackWaitMs: 5, maxDeliveries: 4 })
    sm.apply(22, {
      type: 'groupCreate',
      group: 'h',
      config: { ackWaitMs: undefined, deadLetterTopic: undefined },
    })
    expect(sm.group('h')?.config).toMatchObject({ ackWaitMs: 30_000, deadLetterTopic: null })
  })

  it('keeps stream-reader positions and deletes groups idempotently', () => {
    const sm = new PartitionStateMachine()
    applyAll(sm, [
      append(4),
      { type: 'commitOffset', group: 'r', offset: 3 },
      { type: 'groupCreate', group: 'g' },
    ])
    expect(sm.committedOffset('r')).toBe(3)
    expect(sm.groupNames()).toEqual(['g'])
    expect(expectType(sm.apply(4, { type: 'groupDelete', group: 'g' }), 'groupDelete').deleted).toBe(true)
    expect(expectType(sm.apply(5, { type: 'groupDelete', group: 'g' }), 'groupDelete').deleted).toBe(false)
    expect(sm.group('g')).toBeUndefined()
  })
})

describe('PartitionStateMachine: snapshots', () => {
  const script: PartitionCommand[] = [
    append(3, { producerId: 'p1', sequence: 0 }),
    { type: 'groupCreate', group: 'zeta', config: { maxDeliveries: 2, perKeyOrdering: true } },
    { type: 'groupCreate', group: 'alpha', config: { startPosition: { type: 'offset', offset: 1 } } },
    append(2, { producerId: 'p2', sequence: 9 }),
    { type: 'ack', group: 'zeta', offsets: [0, 2, 4] },
    { type: 'delivered', group: 'zeta', offsets: [1, 3] },
    { type: 'commitOffset', group: 'reader', offset: 4 },
    append(1, { producerId: 'p1', sequence: 1 }),
  ]
  const followUp: PartitionCommand[] = [
    append(3, { producerId: 'p1', sequence: 1 }),
    append(1, { producerId: 'p1', sequence: 5 }),
    append(1, { producerId: 'p2', sequence: 10 }),
    { type: 'ack', group: 'zeta', offsets: [1, 3] },
    { type: 'ack', group: 'alpha', offsets: [1, 2] },
    { type: 'groupCreate', group: 'beta', config: { startPosition: { type: 'time', timestampMs: 0 } } },
  ]

  it('two instances applying the same commands produce byte-identical snapshots', () => {
    const a = new PartitionStateMachine()
    const b = new PartitionStateMachine()
    applyAll(a, script)
    applyAll(b, script)
    expect(a.snapshot()).toEqual(b.snapshot())
  })

  it('a restored instance equals the original and answers the next commands identically', () => {
    const original = new PartitionStateMachine()
    applyAll(original, script)
    const restored = new PartitionStateMachine()
    restored.restore(original.snapshot())
    expect(restored.snapshot()).toEqual(original.snapshot())
    expect(restored.appliedIndex).toBe(original.appliedIndex)
    expect(applyAll(restored, followUp)).toEqual(applyAll(original, followUp))
    expect(restored.snapshot()).toEqual(original.snapshot())
    expect(restored.group('zeta')).toEqual(original.group('zeta'))
  })

  it('restores into a replica whose log starts after the snapshot (an installed leader snapshot)', () => {
    const leader = new PartitionStateMachine({ indexIntervalRecords: 1 })
    applyAll(leader, [{ type: 'groupCreate', group: 'g' }, append(4), append(4)])
    const follower = new PartitionStateMachine()
    follower.restore(leader.snapshot(), { firstRetainedIndex: leader.appliedIndex + 1 })
    expect(follower.endOffset).toBe(8)
    expect(follower.logStartOffset).toBe(8)
    expect(follower.locate(0)).toBeUndefined()
    expect(follower.group('g')?.ackFloor).toBe(8)
    expect(expectType(follower.apply(4, append(2)), 'append').baseOffset).toBe(8)
    expect(follower.locate(9)).toEqual({ offset: 8, index: 4 })
  })

  it('rejects a corrupt snapshot with STORAGE_CORRUPT and keeps its state', () => {
    const sm = new PartitionStateMachine()
    applyAll(sm, script)
    const before = sm.snapshot()
    for (const bad of [
      new Uint8Array([1, 1, 0x91, 0xa1, 0x78]),
      new Uint8Array([1, 2, 0x90]),
      before.subarray(0, 20),
    ]) {
      try {
        sm.restore(bad)
        expect.unreachable('restore accepted garbage')
      } catch (error) {
        expect(isLaminarError(error, 'STORAGE_CORRUPT')).toBe(true)
      }
    }
    expect(sm.snapshot()).toEqual(before)
  })
})
