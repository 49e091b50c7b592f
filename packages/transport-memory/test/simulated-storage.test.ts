import type { Clock, Random } from '@laminar-ts/core'
import { storageComplianceSuite } from '@laminar-ts/core/testing'
import { describe, expect, it } from 'vitest'
import { SimulatedDisk, SimulatedStorage, SortedMemoryStorage } from '../src/index'

/** Latencies elapse on the event loop at once: the compliance suite runs on real promises. */
const immediateClock: Clock = {
  now: () => 0,
  setTimer: (callback) => setImmediate(callback),
  clearTimer: (handle) => clearImmediate(handle as ReturnType<typeof setImmediate>),
}
const fixed = (value: number): Random => ({ next: () => value })

async function openDisk(): Promise<SimulatedDisk> {
  const durable = new SortedMemoryStorage()
  await durable.open()
  return new SimulatedDisk(durable)
}

function storageOn(disk: SimulatedDisk): SimulatedStorage {
  return new SimulatedStorage({ disk, clock: immediateClock, random: fixed(0.5) })
}

const disks = new Map<string, Promise<SimulatedDisk>>()
function diskAt(location: string | undefined): Promise<SimulatedDisk> {
  if (location === undefined) return openDisk()
  let disk = disks.get(location)
  if (disk === undefined) disks.set(location, (disk = openDisk()))
  return disk
}

storageComplianceSuite({
  name: 'SimulatedStorage',
  factory: async (location) => storageOn(await diskAt(location)),
})

storageComplianceSuite({
  name: 'SimulatedStorage (reopened after a crash)',
  factory: async (location) =>
    storageOn(await diskAt(location === undefined ? undefined : `crash-${location}`)),
  reopen: async (previous, location) => {
    ;(previous as SimulatedStorage).crash(fixed(0))
    return storageOn(await diskAt(`crash-${location}`))
  },
})

storageComplianceSuite({ name: 'SortedMemoryStorage', factory: () => new SortedMemoryStorage() })

const key = (value: number) => Uint8Array.of(value)
const text = (value: string) => new TextEncoder().encode(value)

describe('SimulatedStorage crash semantics', () => {
  it('shows unsynced writes to reads at once, and loses them all when the crash keeps no batch', async () => {
    const disk = await openDisk()
    const storage = storageOn(disk)
    await storage.open()
    await storage.write([{ type: 'put', key: key(1), value: text('synced') }], { sync: true })
    await storage.write([{ type: 'put', key: key(2), value: text('a') }])
    await storage.write([{ type: 'del', key: key(1) }])
    expect(await storage.get(key(2))).toEqual(text('a'))
    expect(await storage.get(key(1))).toBeUndefined()
    expect((await storage.range()).map((e) => e.key[0])).toEqual([2])
    expect(storage.pendingBatches).toBe(2)
    expect(storage.crash(fixed(0))).toEqual({ pendingBatches: 2, survivingBatches: 0 })
    await expect(storage.get(key(1))).rejects.toMatchObject({ code: 'STORAGE_CLOSED' })
    const restarted = storageOn(disk)
    await restarted.open()
    expect(await restarted.get(key(1))).toEqual(text('synced'))
    expect(await restarted.get(key(2))).toBeUndefined()
  })

  it('keeps a prefix of the pending batches, each batch whole', async () => {
    const disk = await openDisk()
    const storage = storageOn(disk)
    await storage.open()
    for (let i = 1; i <= 4; i++) {
      await storage.write([
        { type: 'put', key: key(i), value: text(`v${i}`) },
        { type: 'put', key: key(100 + i), value: text(`w${i}`) },
      ])
    }
    // 0.5 of (4 + 1) choices: the first 2 batches survive.
    expect(storage.crash(fixed(0.5))).toEqual({ pendingBatches: 4, survivingBatches: 2 })
    const restarted = storageOn(disk)
    await restarted.open()
    expect((await restarted.range()).map((e) => e.key[0])).toEqual([1, 2, 101, 102])
  })

  it('makes every earlier write durable with a synced one, and reports durable changes in order', async () => {
    const disk = await openDisk()
    const seen: number[] = []
    disk.onDurable = (changes) => {
      for (const change of changes) if (change.type === 'put') seen.push(change.key[0]!)
    }
    const storage = storageOn(disk)
    await storage.open()
    await storage.write([{ type: 'put', key: key(1), value: text('x') }])
    await storage.write([{ type: 'put', key: key(2), value: text('y') }])
    expect(seen).toEqual([])
    await storage.write([{ type: 'put', key: key(3), value: text('z') }], { sync: true })
    expect(seen).toEqual([1, 2, 3])
    expect(storage.crash(fixed(0))).toEqual({ pendingBatches: 0, survivingBatches: 0 })
    const restarted = storageOn(disk)
    await restarted.open()
    expect((await restarted.range()).map((e) => e.key[0])).toEqual([1, 2, 3])
  })

  it('overlays pending deletes and clears on durable data in ranges with limits, both directions', async () => {
    const disk = await openDisk()
    const storage = storageOn(disk)
    await storage.open()
    await storage.write(
      Array.from({ length: 10 }, (_, i) => ({
        type: 'put' as const,
        key: key(i + 1),
        value: text(`${i + 1}`),
      })),
      { sync: true },
    )
    await storage.write([
      { type: 'del', key: key(2) },
      { type: 'del', key: key(3) },
    ])
    await storage.clear({ gte: key(5), lt: key(8) })
    await storage.write([{ type: 'put', key: key(6), value: text('new') }])
    const forward = await storage.range({ limit: 4 })
    expect(forward.map((e) => e.key[0])).toEqual([1, 4, 6, 8])
    const backward = await storage.range({ reverse: true, limit: 3 })
    expect(backward.map((e) => e.key[0])).toEqual([10, 9, 8])
    expect(await storage.get(key(5))).toBeUndefined()
    expect(await storage.get(key(6))).toEqual(text('new'))
    await storage.close()
    // An orderly close flushes the page cache: everything survives.
    const reopened = storageOn(disk)
    await reopened.open()
    expect((await reopened.range()).map((e) => e.key[0])).toEqual([1, 4, 6, 8, 9, 10])
  })
})
