import { describe, expect, it } from 'vitest'
import { type Dispatch, Dispatcher, PartitionStateMachine } from '../../src/index'
import { append, seeded } from './helpers'

/**
 * Random acks, nacks (some delayed), working(), timeouts, members leaving and joining, and
 * leader changes (the dispatcher rebuilt from the replicated group state the commands built).
 * Checks: an offset is never handed out while a member holds it; with per-key ordering, one key
 * is never held by two members; everything is acked in the end, in the replicated state too;
 * only offsets that exist are delivered.
 */
function run(seed: number, perKeyOrdering: boolean): { deliveries: number; rebuilds: number } {
  const random = seeded(seed)
  const sm = new PartitionStateMachine()
  let index = 0
  sm.apply(++index, { type: 'groupCreate', group: 'g', config: { ackWaitMs: 30, perKeyOrdering } })
  const keys: (Uint8Array | null)[] = []
  let members = ['m0', 'm1', 'm2']
  let nextMember = 3
  const build = () => {
    const d = new Dispatcher({ group: sm.group('g')!, endOffset: sm.endOffset })
    for (const id of members) d.addMember(id, 1 + Math.floor(random() * 5))
    d.onRecordsAvailable(sm.endOffset, { baseOffset: 0, keys })
    return d
  }
  let dispatcher = build()
  /** Offsets each member holds, per our model of what the dispatcher handed out. */
  let held = new Map<number, Dispatch>()
  let deliveries = 0
  let rebuilds = 0
  const propose = () => {
    for (const command of dispatcher.takeCommands()) sm.apply(++index, command)
  }

  for (let nowMs = 0; nowMs < 20_000; nowMs += 5) {
    if (sm.endOffset < 300 && random() < 0.3) {
      const count = 1 + Math.floor(random() * 4)
      const base = sm.endOffset
      sm.apply(++index, append(count))
      const newKeys = Array.from({ length: count }, () =>
        random() < 0.2 ? null : new Uint8Array([Math.floor(random() * 6)]),
      )
      keys.push(...newKeys)
      dispatcher.onRecordsAvailable(sm.endOffset, { baseOffset: base, keys: newKeys })
    }
    for (const delivery of dispatcher.nextDeliveries(nowMs)) {
      expect(held.has(delivery.offset)).toBe(false)
      expect(delivery.offset).toBeLessThan(sm.endOffset)
      held.set(delivery.offset, delivery)
      deliveries++
    }
    if (perKeyOrdering) {
      const holders = new Map<number, string>()
      for (const [offset, delivery] of held) {
        const key = keys[offset]?.[0]
        if (key === undefined) continue
        expect(holders.get(key) ?? delivery.memberId).toBe(delivery.memberId)
        holders.set(key, delivery.memberId)
      }
    }
    for (const [offset, delivery] of [...held]) {
      const roll = random()
      if (roll < 0.3) {
        dispatcher.ack(delivery.memberId, [offset])
        held.delete(offset)
      } else if (roll < 0.35) {
        dispatcher.nack(delivery.memberId, [offset], nowMs, random() < 0.5 ? 0 : 20)
        held.delete(offset)
      } else if (roll < 0.4) {
        dispatcher.working(delivery.memberId, [offset], nowMs)
      }
    }
    const deadline = dispatcher.nextDeadlineMs()
    if (deadline !== undefined && deadline <= nowMs) {
      dispatcher.expire(nowMs)
      for (const [offset, delivery] of [...held]) {
        if (dispatcher.holderOf(offset) !== delivery.memberId) held.delete(offset)
      }
    }
    if (random() < 0.01 && members.length > 1) {
      const gone = members[Math.floor(random() * members.length)]!
      members = members.filter((id) => id !== gone)
      dispatcher.removeMember(gone)
      for (const [offset, delivery] of [...held]) if (delivery.memberId === gone) held.delete(offset)
    }
    if (random() < 0.01) {
      const id = `m${nextMember++}`
      members.push(id)
      dispatcher.addMember(id, 3)
    }
    if (random() < 0.2) propose()
    if (random() < 0.005 || nowMs === 500) {
      // Leader change: unproposed decisions are lost, everything in flight comes back.
      dispatcher = build()
      held = new Map()
      rebuilds++
    }
    if (sm.endOffset >= 300 && sm.group('g')!.ackFloor === sm.endOffset) break
  }
  propose()
  expect(sm.endOffset).toBeGreaterThanOrEqual(300)
  expect(sm.group('g')!.ackFloor).toBe(sm.endOffset)
  expect(dispatcher.status()).toMatchObject({ inFlight: 0, queued: 0, ackFloor: sm.endOffset })
  return { deliveries, rebuilds }
}

describe('Dispatcher under random operations and leader changes', () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8])('delivers everything at least once (seed %i)', (seed) => {
    const { deliveries, rebuilds } = run(seed, false)
    expect(deliveries).toBeGreaterThanOrEqual(300)
    expect(rebuilds).toBeGreaterThan(0)
  })

  it.each([11, 12, 13, 14])('delivers everything with per-key ordering (seed %i)', (seed) => {
    const { deliveries, rebuilds } = run(seed, true)
    expect(deliveries).toBeGreaterThanOrEqual(300)
    expect(rebuilds).toBeGreaterThan(0)
  })
})
