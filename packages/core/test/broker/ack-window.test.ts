import { describe, expect, it } from 'vitest'
import { AckWindow } from '../../src/broker/ack-window'
import { DeadlineQueue } from '../../src/broker/deadline-queue'
import { seeded } from './helpers'

describe('AckWindow', () => {
  it('agrees with a Set and a Map under random marks, entries, growth and floor raises', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const random = seeded(seed)
      const capacityMax = 4096
      const window = new AckWindow<string>(100, capacityMax, 4)
      let floor = 100
      const handled = new Set<number>()
      const entries = new Map<number, string>()
      for (let step = 0; step < 3000; step++) {
        const offset = floor + Math.floor(random() * Math.min(capacityMax, 8 + step))
        const action = random()
        if (action < 0.45) {
          // Only offsets without an entry get handled (the dispatcher releases first).
          if (entries.has(offset)) {
            window.delete(offset)
            entries.delete(offset)
          }
          expect(window.markHandled(offset)).toBe(!handled.has(offset))
          handled.add(offset)
          while (handled.delete(floor)) floor++
        } else if (action < 0.8) {
          if (!handled.has(offset)) {
            window.set(offset, `e${offset}`)
            entries.set(offset, `e${offset}`)
          }
        } else if (action < 0.95) {
          window.delete(offset)
          entries.delete(offset)
        } else {
          const raised = floor + Math.floor(random() * 40)
          window.raiseFloor(raised)
          for (const o of [...handled]) if (o < raised) handled.delete(o)
          for (const o of [...entries.keys()]) if (o < raised) entries.delete(o)
          floor = Math.max(floor, raised)
          while (handled.delete(floor)) floor++
        }
        expect(window.floor).toBe(floor)
        expect(window.handledCount).toBe(handled.size)
      }
      expect(window.handledOffsets()).toEqual([...handled].sort((a, b) => a - b))
      expect([...window.entries(0, Number.MAX_SAFE_INTEGER)]).toEqual(
        [...entries].sort((a, b) => a[0] - b[0]),
      )
      for (let offset = floor - 5; offset < floor + capacityMax + 5; offset++) {
        expect(window.get(offset)).toBe(entries.get(offset))
        expect(window.isHandled(offset)).toBe(handled.has(offset))
      }
    }
  })

  it('refuses an offset beyond the window instead of wrapping onto another', () => {
    const window = new AckWindow<number>(0, 1024, 16)
    window.set(1023, 1)
    expect(() => window.set(1024, 2)).toThrow(RangeError)
    expect(window.inWindow(1024)).toBe(false)
    expect(window.get(1023)).toBe(1)
  })
})

describe('DeadlineQueue', () => {
  interface Entry {
    id: number
    deadlineMs: number
  }

  it('yields live entries by deadline, skipping ended ones, also after an out-of-order deadline', () => {
    const live = new Set<Entry>()
    const queue = new DeadlineQueue<Entry>((entry) => live.has(entry))
    const entries = [10, 20, 30, 40].map((deadlineMs, id) => ({ id, deadlineMs }))
    for (const entry of entries) {
      live.add(entry)
      queue.push(entry, live.size)
    }
    live.delete(entries[0]!) // ended (acked)
    const early = { id: 9, deadlineMs: 15 } // a deadline earlier than the last one
    live.add(early)
    queue.push(early, live.size)
    const order: number[] = []
    for (let entry = queue.peek(); entry !== undefined; entry = queue.peek()) {
      order.push(entry.id)
      queue.shift()
    }
    expect(order).toEqual([9, 1, 2, 3])
  })

  it('skips a long run of ended entries to the live one behind them', () => {
    const live = new Set<Entry>()
    const queue = new DeadlineQueue<Entry>((entry) => live.has(entry))
    const keep = { id: -1, deadlineMs: 0 }
    live.add(keep)
    queue.push(keep, 1)
    for (let id = 0; id < 100_000; id++) {
      const entry = { id, deadlineMs: id }
      queue.push(entry, live.size) // pushed, then ended at once
    }
    expect(queue.peek()).toBe(keep)
    queue.shift()
    expect(queue.peek()).toBeUndefined()
  })
})
