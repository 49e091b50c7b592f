import { describe, expect, it } from 'vitest'
import { Prng, ProcessClock, TimerQueue, VirtualTime } from '../src/index'

describe('Prng (xoshiro128**)', () => {
  it('gives the same stream for the same seed and a different one for another seed', () => {
    const a = new Prng(42)
    const b = new Prng(42)
    const c = new Prng(43)
    const streamA = Array.from({ length: 100 }, () => a.nextUint32())
    const streamB = Array.from({ length: 100 }, () => b.nextUint32())
    const streamC = Array.from({ length: 100 }, () => c.nextUint32())
    expect(streamA).toEqual(streamB)
    expect(streamA).not.toEqual(streamC)
  })

  it('draws floats in [0, 1) and integers in range, roughly uniformly', () => {
    const random = new Prng(7)
    const buckets = new Array<number>(10).fill(0)
    let min = 1
    let max = 0
    for (let i = 0; i < 20_000; i++) {
      const value = random.next()
      min = Math.min(min, value)
      max = Math.max(max, value)
      buckets[random.int(10)]!++
    }
    expect(min).toBeGreaterThanOrEqual(0)
    expect(max).toBeLessThan(1)
    expect(Math.min(...buckets)).toBeGreaterThan(1_700)
    const between = new Set(Array.from({ length: 1_000 }, () => random.between(3, 5)))
    expect([...between].sort()).toEqual([3, 4, 5])
  })

  it('shuffles into a permutation and forks independent streams', () => {
    const random = new Prng(1)
    const shuffled = random.shuffle([1, 2, 3, 4, 5, 6, 7, 8])
    expect([...shuffled].sort()).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
    const parent = new Prng(9)
    const child = parent.fork()
    expect(child.nextUint32()).not.toBe(parent.nextUint32())
  })
})

describe('TimerQueue and virtual clocks', () => {
  it('pops timers by due time, FIFO among equal times, skipping cancelled ones', () => {
    const queue = new TimerQueue()
    const order: string[] = []
    queue.push(5, () => order.push('a5'))
    queue.push(1, () => order.push('b1'))
    const cancelled = queue.push(3, () => order.push('c3'))
    queue.push(5, () => order.push('d5'))
    queue.push(1, () => order.push('e1'))
    queue.cancel(cancelled)
    expect(queue.size).toBe(4)
    for (let timer = queue.pop(); timer !== undefined; timer = queue.pop()) timer.callback()
    expect(order).toEqual(['b1', 'e1', 'a5', 'd5'])
    expect(queue.size).toBe(0)
  })

  function runAll(time: VirtualTime): void {
    for (let timer = time.queue.pop(); timer !== undefined; timer = time.queue.pop()) {
      time.advanceTo(timer.atMs)
      timer.callback()
    }
  }

  it('gives each process a skewed, monotonic view of the one timeline', () => {
    const time = new VirtualTime()
    const clock = new ProcessClock(time, 250)
    expect(clock.now()).toBe(250)
    clock.setSkewMs(100) // backwards: absorbed, time stays monotonic
    expect(clock.now()).toBe(250)
    clock.setSkewMs(400)
    expect(clock.now()).toBe(400)
    let firedAt = -1
    clock.setTimer(() => {
      firedAt = time.nowMs
    }, 30)
    runAll(time)
    expect(firedAt).toBe(30)
  })

  it('holds a paused process timers until resume and drops a killed process timers', () => {
    const time = new VirtualTime()
    const paused = new ProcessClock(time)
    const killed = new ProcessClock(time)
    const fired: string[] = []
    paused.setTimer(() => fired.push(`paused@${time.nowMs}`), 10)
    killed.setTimer(() => fired.push('killed'), 10)
    const cleared = paused.setTimer(() => fired.push('cleared'), 10)
    paused.pause()
    killed.kill()
    time.schedule(20, () => paused.clearTimer(cleared))
    time.schedule(50, () => paused.resume())
    runAll(time)
    expect(fired).toEqual(['paused@50'])
    expect(killed.setTimer(() => fired.push('late'), 1)).toBeUndefined()
  })
})
