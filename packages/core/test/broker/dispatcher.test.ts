import { describe, expect, it } from 'vitest'
import {
  ACK_WINDOW_MAX,
  DEAD_LETTER_HEADERS,
  DEFAULT_GROUP_CONFIG,
  Dispatcher,
  deadLetterRecord,
  type GroupConfig,
  type GroupState,
  isLaminarError,
  PartitionStateMachine,
} from '../../src/index'
import { append, record } from './helpers'

function groupState(config: Partial<GroupConfig> = {}, state: Partial<GroupState> = {}): GroupState {
  return {
    name: 'g',
    config: { ...DEFAULT_GROUP_CONFIG, ackWaitMs: 1000, ...config },
    ackFloor: 0,
    acked: [],
    deliveryCounts: [],
    ...state,
  }
}

function dispatcher(
  endOffset: number,
  config: Partial<GroupConfig> = {},
  members = ['a', 'b', 'c'],
  maxInFlight = 100,
) {
  const d = new Dispatcher({ group: groupState(config), endOffset })
  for (const id of members) d.addMember(id, maxInFlight)
  return d
}

const offsetsOf = (deliveries: { offset: number }[]) => deliveries.map((d) => d.offset)

describe('Dispatcher: round-robin and credit', () => {
  it('deals messages round-robin so each of 3 members gets its share', () => {
    const d = dispatcher(30)
    const deliveries = d.nextDeliveries(0)
    expect(offsetsOf(deliveries)).toEqual(Array.from({ length: 30 }, (_, i) => i))
    expect(deliveries.slice(0, 6).map((x) => x.memberId)).toEqual(['a', 'b', 'c', 'a', 'b', 'c'])
    for (const id of ['a', 'b', 'c']) expect(deliveries.filter((x) => x.memberId === id)).toHaveLength(10)
    // Fairness continues across calls: the rotation does not restart at the first member.
    d.onRecordsAvailable(32)
    expect(d.nextDeliveries(0).map((x) => x.memberId)).toEqual(['a', 'b'])
    d.onRecordsAvailable(33)
    expect(d.nextDeliveries(0).map((x) => x.memberId)).toEqual(['c'])
  })

  it('never gives a member more than its credit, and credit 0 pauses it', () => {
    const d = dispatcher(20, {}, ['a', 'b'], 3)
    expect(d.nextDeliveries(0)).toHaveLength(6)
    expect(d.nextDeliveries(0)).toHaveLength(0)
    d.grantCredit('a', 0)
    d.ack('a', [0, 2, 4])
    expect(d.nextDeliveries(0)).toHaveLength(0)
    d.ack('b', [1])
    expect(d.nextDeliveries(0).map((x) => [x.memberId, x.offset])).toEqual([['b', 6]])
    d.grantCredit('a', 5)
    expect(d.nextDeliveries(0).map((x) => x.memberId)).toEqual(['a', 'a', 'a', 'a', 'a'])
    expect(d.status().members).toEqual([
      { memberId: 'a', inFlight: 5, maxInFlight: 5 },
      { memberId: 'b', inFlight: 3, maxInFlight: 3 },
    ])
  })

  it('respects a limit per call', () => {
    const d = dispatcher(10)
    expect(d.nextDeliveries(0, 4)).toHaveLength(4)
    expect(offsetsOf(d.nextDeliveries(0))).toEqual([4, 5, 6, 7, 8, 9])
  })

  it('validates members and reports unknown ones', () => {
    const d = new Dispatcher({ group: groupState(), endOffset: 0, membersMax: 2, maxInFlightMax: 10 })
    d.addMember('a', 1)
    d.addMember('b', 1)
    const codeOf = (fn: () => void) => {
      try {
        fn()
        return 'ok'
      } catch (error) {
        return isLaminarError(error) ? error.code : 'other'
      }
    }
    expect(codeOf(() => d.addMember('c', 1))).toBe('INVALID_ARGUMENT')
    expect(codeOf(() => d.addMember('a', 11))).toBe('INVALID_ARGUMENT')
    expect(codeOf(() => d.addMember('a', 0))).toBe('INVALID_ARGUMENT')
    expect(codeOf(() => d.nack('zz', [0], 0))).toBe('UNKNOWN_MEMBER')
    expect(codeOf(() => d.working('zz', [0], 0))).toBe('UNKNOWN_MEMBER')
    expect(codeOf(() => d.grantCredit('zz', 1))).toBe('UNKNOWN_MEMBER')
    expect(codeOf(() => d.nack('a', [0], 0, -5))).toBe('INVALID_ARGUMENT')
  })
})

describe('Dispatcher: redelivery', () => {
  it('redelivers what a lost member held to the others, oldest first', () => {
    const d = dispatcher(6, {}, ['a', 'b'], 10)
    d.nextDeliveries(0)
    d.ack('b', [1])
    d.removeMember('a')
    const again = d.nextDeliveries(5)
    expect(again.map((x) => [x.memberId, x.offset, x.deliveryCount])).toEqual([
      ['b', 0, 2],
      ['b', 2, 2],
      ['b', 4, 2],
    ])
    expect(d.hasMember('a')).toBe(false)
  })

  it('redelivers on ack timeout, and not before', () => {
    const d = dispatcher(2, { ackWaitMs: 100 }, ['a', 'b'])
    const first = d.nextDeliveries(1000)
    expect(first.map((x) => x.deadlineMs)).toEqual([1100, 1100])
    expect(d.nextDeadlineMs()).toBe(1100)
    expect(d.expire(1099)).toBe(0)
    d.ack('b', [1])
    expect(d.expire(1100)).toBe(1)
    const again = d.nextDeliveries(1100)
    expect(again.map((x) => [x.offset, x.deliveryCount, x.deadlineMs])).toEqual([[0, 2, 1200]])
    // The rotation stopped at 'a' after 'b' took offset 1, so 'a' is next in turn.
    expect(again[0]!.memberId).toBe('a')
  })

  it('redelivers a nack after its delay', () => {
    const d = dispatcher(1, { ackWaitMs: 10_000 }, ['a'])
    d.nextDeliveries(0)
    d.nack('a', [0], 50, 200)
    expect(d.nextDeliveries(100)).toEqual([])
    expect(d.nextDeadlineMs()).toBe(250)
    expect(d.nextDeliveries(249)).toEqual([])
    expect(offsetsOf(d.nextDeliveries(250))).toEqual([0])
    d.nack('a', [0], 300)
    expect(offsetsOf(d.nextDeliveries(300))).toEqual([0])
  })

  it('ignores nack and working for messages the member does not hold', () => {
    const d = dispatcher(2, { ackWaitMs: 100 }, ['a', 'b'])
    d.nextDeliveries(0)
    d.nack('a', [1], 0)
    d.working('a', [1], 90)
    expect(d.holderOf(1)).toBe('b')
    expect(d.expire(100)).toBe(2)
  })

  it('extends a deadline with working()', () => {
    const d = dispatcher(1, { ackWaitMs: 100 }, ['a'])
    d.nextDeliveries(0)
    d.working('a', [0], 80)
    expect(d.nextDeadlineMs()).toBe(180)
    expect(d.expire(100)).toBe(0)
    expect(d.expire(180)).toBe(1)
  })

  it('expires in deadline order after working(), a shorter ack wait and a clock step back', () => {
    const d = dispatcher(4, { ackWaitMs: 100 }, ['a'], 1)
    d.grantCredit('a', 4)
    d.nextDeliveries(0, 2) // offsets 0, 1: deadline 100
    d.working('a', [0], 50) // offset 0: deadline 150, behind offset 1
    d.onConfigChanged({ ...d.config, ackWaitMs: 10 })
    d.nextDeliveries(60, 1) // offset 2: deadline 70
    d.nextDeliveries(40, 1) // offset 3: deadline 50 (the caller's clock stepped back)
    expect(d.nextDeadlineMs()).toBe(50)
    expect(d.expire(70)).toBe(2)
    expect(d.nextDeadlineMs()).toBe(100)
    expect(d.expire(100)).toBe(1)
    expect(d.holderOf(0)).toBe('a')
    expect(d.expire(150)).toBe(1)
  })

  it('treats an ack from a timed-out member as an ack', () => {
    const d = dispatcher(1, { ackWaitMs: 100 }, ['a', 'b'])
    d.nextDeliveries(0)
    d.expire(100)
    d.nextDeliveries(100)
    expect(d.ack('a', [0])).toBe(1)
    expect(d.status()).toMatchObject({ ackFloor: 1, inFlight: 0, queued: 0 })
    expect(d.ack('b', [0])).toBe(0)
  })
})

describe('Dispatcher: dead letters and commands', () => {
  it('dead-letters after maxDeliveries and builds the record with original headers plus reason and count', () => {
    const d = dispatcher(2, { ackWaitMs: 10, maxDeliveries: 2, deadLetterTopic: 'orders.dlq' }, ['a'])
    for (let attempt = 0; attempt < 2; attempt++) {
      const got = d.nextDeliveries(attempt * 10)
      expect(got.map((x) => x.deliveryCount)).toEqual([attempt + 1, attempt + 1])
      d.ack('a', attempt === 0 ? [] : [1])
      d.expire(attempt * 10 + 10)
    }
    expect(d.nextDeliveries(20)).toEqual([])
    expect(d.takeDeadLetters()).toEqual([{ offset: 0, deliveryCount: 2, reason: 'maxDeliveries' }])
    expect(d.takeDeadLetters()).toEqual([])
    expect(d.status().ackFloor).toBe(2)
    // Redeliveries were recorded (only second deliveries: the first is implied).
    expect(d.takeCommands()).toEqual([
      { type: 'ack', group: 'g', offsets: [1] },
      { type: 'delivered', group: 'g', offsets: [0, 1] },
    ])

    const original = { ...record(7, 'k'), headers: { trace: new Uint8Array([1, 2]) } }
    const forwarded = deadLetterRecord(
      original,
      { topic: 'orders', partition: 3, group: 'g' },
      {
        offset: 0,
        deliveryCount: 2,
        reason: 'maxDeliveries',
      },
    )
    const text = (name: string) => new TextDecoder().decode(forwarded.headers[name])
    expect(forwarded.value).toBe(original.value)
    expect(forwarded.key).toBe(original.key)
    expect(forwarded.headers.trace).toEqual(new Uint8Array([1, 2]))
    expect(text(DEAD_LETTER_HEADERS.reason)).toBe('maxDeliveries')
    expect(text(DEAD_LETTER_HEADERS.deliveryCount)).toBe('2')
    expect(text(DEAD_LETTER_HEADERS.topic)).toBe('orders')
    expect(text(DEAD_LETTER_HEADERS.partition)).toBe('3')
    expect(text(DEAD_LETTER_HEADERS.offset)).toBe('0')
  })

  it('without a dead-letter topic, drops the message through a deadLettered command', () => {
    const d = dispatcher(1, { ackWaitMs: 10, maxDeliveries: 1 }, ['a'])
    d.nextDeliveries(0)
    d.expire(10)
    expect(d.nextDeliveries(10)).toEqual([])
    expect(d.takeDeadLetters()).toEqual([])
    expect(d.takeCommands()).toEqual([{ type: 'deadLettered', group: 'g', offsets: [0] }])
  })

  it('batches acks from many members into one command', () => {
    const d = dispatcher(9)
    const deliveries = d.nextDeliveries(0)
    for (const x of deliveries) d.ack(x.memberId, [x.offset])
    expect(d.takeCommands()).toEqual([{ type: 'ack', group: 'g', offsets: [0, 1, 2, 3, 4, 5, 6, 7, 8] }])
    expect(d.takeCommands()).toEqual([])
  })

  it('never hands out offsets beyond the ack window', () => {
    const d = dispatcher(ACK_WINDOW_MAX + 10, {}, ['a'], 10_000)
    let total = 0
    for (let round = 0; round < 10; round++) {
      const got = d.nextDeliveries(0)
      total += got.length
      // Ack everything but offset 0: the floor stays at 0.
      d.ack(
        'a',
        offsetsOf(got).filter((o) => o !== 0),
      )
    }
    expect(total).toBe(ACK_WINDOW_MAX)
    expect(d.status().nextOffset).toBe(ACK_WINDOW_MAX)
    d.ack('a', [0])
    expect(offsetsOf(d.nextDeliveries(0))).toEqual(Array.from({ length: 10 }, (_, i) => ACK_WINDOW_MAX + i))
  })
})

describe('Dispatcher: per-key ordering', () => {
  const keyed = (keys: (string | null)[]) => ({
    baseOffset: 0,
    keys: keys.map((k) => (k === null ? null : new TextEncoder().encode(k))),
  })

  it('never has one key in flight to two members at once', () => {
    const d = dispatcher(0, { perKeyOrdering: true }, ['a', 'b'])
    const keys = ['x', 'y', 'x', 'x', null, 'y', 'z']
    d.onRecordsAvailable(keys.length, keyed(keys))
    const got = d.nextDeliveries(0)
    const holder = new Map<string, string>()
    for (const x of got) {
      const key = keys[x.offset]
      if (key === null || key === undefined) continue
      if (holder.has(key)) expect(holder.get(key)).toBe(x.memberId)
      holder.set(key, x.memberId)
    }
    expect(offsetsOf(got).sort((p, q) => p - q)).toEqual([0, 1, 2, 3, 4, 5, 6])
  })

  it('holds a busy key back while its member is full, and lets other keys pass', () => {
    const d = dispatcher(0, { perKeyOrdering: true, ackWaitMs: 100 }, ['a', 'b'], 1)
    const keys = ['x', 'x', 'y']
    d.onRecordsAvailable(3, keyed(keys))
    expect(d.nextDeliveries(0).map((x) => [x.memberId, x.offset])).toEqual([
      ['a', 0],
      ['b', 2],
    ])
    d.ack('b', [2])
    // b is free but offset 1 (key x) waits for a, which holds x.
    expect(d.nextDeliveries(0)).toEqual([])
    d.ack('a', [0])
    expect(d.nextDeliveries(0).map((x) => x.offset)).toEqual([1])
  })

  it('waits for keys it does not know and says which it needs', () => {
    const d = dispatcher(4, { perKeyOrdering: true }, ['a'])
    expect(d.nextDeliveries(0)).toEqual([])
    expect(d.keysNeeded()).toEqual({ fromOffset: 0, toOffset: 4 })
    d.onRecordsAvailable(4, { baseOffset: 0, keys: [null, null] })
    expect(offsetsOf(d.nextDeliveries(0))).toEqual([0, 1])
    expect(d.keysNeeded()).toEqual({ fromOffset: 2, toOffset: 4 })
    expect(dispatcher(4).keysNeeded()).toBeUndefined()
  })

  it('keeps the invariant under a random mix of operations', () => {
    let seed = 42
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
      return seed / 2 ** 31
    }
    const keys = Array.from({ length: 500 }, () => `k${Math.floor(random() * 8)}`)
    const d = dispatcher(0, { perKeyOrdering: true, ackWaitMs: 50 }, ['a', 'b', 'c'], 4)
    d.onRecordsAvailable(keys.length, keyed(keys))
    const held = new Map<number, string>()
    for (let now = 0; now < 5000 && d.status().ackFloor < keys.length; now += 10) {
      for (const x of d.nextDeliveries(now)) held.set(x.offset, x.memberId)
      const byKey = new Map<string, Set<string>>()
      for (const [offset, member] of held) {
        if (d.holderOf(offset) !== member) continue
        const set = byKey.get(keys[offset]!) ?? new Set()
        set.add(member)
        byKey.set(keys[offset]!, set)
      }
      for (const members of byKey.values()) expect(members.size).toBe(1)
      for (const [offset, member] of [...held]) {
        const roll = random()
        if (d.holderOf(offset) !== member) held.delete(offset)
        else if (roll < 0.5) d.ack(member, [offset])
        else if (roll < 0.6) d.nack(member, [offset], now)
      }
      d.expire(now)
    }
    expect(d.status().ackFloor).toBe(keys.length)
  })
})

describe('Dispatcher: rebuilt from replicated state', () => {
  it('a new leader redelivers exactly what was not acked', () => {
    const sm = new PartitionStateMachine()
    sm.apply(1, { type: 'groupCreate', group: 'g', config: { maxDeliveries: 5 } })
    sm.apply(2, append(6))
    const first = new Dispatcher({ group: sm.group('g')!, endOffset: sm.endOffset })
    first.addMember('a', 10)
    first.nextDeliveries(0)
    first.ack('a', [0, 1, 3])
    first.expire(Number.MAX_SAFE_INTEGER)
    first.nextDeliveries(1) // offsets 2, 4, 5 delivered a second time: recorded as redeliveries
    let index = 3
    for (const command of first.takeCommands()) sm.apply(index++, command)
    expect(sm.group('g')).toMatchObject({ ackFloor: 2, acked: [3] })

    const next = new Dispatcher({ group: sm.group('g')!, endOffset: sm.endOffset, logStartOffset: 0 })
    next.addMember('b', 10)
    expect(next.nextDeliveries(0).map((x) => [x.offset, x.deliveryCount])).toEqual([
      [2, 3],
      [4, 3],
      [5, 3],
    ])
  })

  it('skips offsets retention dropped', () => {
    const d = dispatcher(10, {}, ['a'], 3)
    d.nextDeliveries(0)
    d.onLogStartOffset(5)
    expect(d.status()).toMatchObject({ ackFloor: 5, inFlight: 0 })
    expect(offsetsOf(d.nextDeliveries(0))).toEqual([5, 6, 7])
    expect(d.ack('a', [1])).toBe(0)
  })

  it('skips offsets acked early (a client acking what an old leader delivered)', () => {
    const d = dispatcher(4, {}, ['a'])
    expect(d.ack('a', [1, 2])).toBe(2)
    expect(offsetsOf(d.nextDeliveries(0))).toEqual([0, 3])
  })
})
