import { afterEach, describe, expect, it } from 'vitest'
import { isLaminarError, type LaminarErrorCode } from '../errors/laminar-error'
import { compareBytes, STORAGE_RANGE_LIMIT_MAX, type Storage } from '../ports/storage'

/** How {@link storageComplianceSuite} makes the stores it tests. */
export interface StorageComplianceOptions {
  /** Shown in the describe block. */
  name: string
  /**
   * A fresh store, opened or not (the suite calls `open()`; if it returns an unopened store the
   * not-open checks run too). With a `location`, a persistent adapter must return a store on that
   * location: the same data after close and a second call.
   */
  factory: (location?: string) => Storage | Promise<Storage>
  /**
   * Reopens the store of `location` after `previous` was closed. Default: `factory(location)`.
   * The simulator passes its own (e.g. restart after a crash).
   */
  reopen?: (previous: Storage, location: string) => Storage | Promise<Storage>
}

const bytes = (...values: number[]) => Uint8Array.from(values)

/** Byte equality that accepts any Uint8Array subclass (a Buffer is fine). */
function expectBytes(actual: Uint8Array | undefined, expected: Uint8Array): void {
  expect(actual).toBeInstanceOf(Uint8Array)
  expect(Array.from(actual!)).toEqual(Array.from(expected))
}

async function codeOf(run: () => unknown): Promise<LaminarErrorCode | 'none' | 'not a LaminarError'> {
  try {
    await run()
    return 'none'
  } catch (error) {
    return isLaminarError(error) ? error.code : 'not a LaminarError'
  }
}

/** Keys whose bytewise order trips naive comparisons: empty suffixes, 0x00 and 0xff, signed bytes. */
const EDGE_KEYS: Uint8Array[] = [
  bytes(0x00),
  bytes(0x00, 0x00),
  bytes(0x00, 0xff),
  bytes(0x01),
  bytes(0x7f),
  bytes(0x80),
  bytes(0x80, 0x00),
  bytes(0xfe, 0xff, 0xff),
  bytes(0xff),
  bytes(0xff, 0x00),
  bytes(0xff, 0xff),
  bytes(0xff, 0xff, 0x00),
]

/**
 * The Storage port's compliance suite, as abstract-level ships its own: every adapter runs it
 * from its tests with a factory. Declares vitest `describe`/`it` blocks; branches on `supports`.
 */
export function storageComplianceSuite(options: StorageComplianceOptions): void {
  describe(`Storage compliance: ${options.name}`, () => {
    const created: Storage[] = []
    let locationCounter = 0
    const make = async (location?: string) => {
      const storage = await options.factory(location)
      created.push(storage)
      return storage
    }
    const open = async (location?: string) => {
      const storage = await make(location)
      await storage.open()
      return storage
    }
    const reopen = async (previous: Storage, location: string) => {
      const storage = options.reopen
        ? await options.reopen(previous, location)
        : await options.factory(location)
      created.push(storage)
      await storage.open()
      return storage
    }
    const put = (key: Uint8Array, value: Uint8Array) => ({ type: 'put' as const, key, value })
    const del = (key: Uint8Array) => ({ type: 'del' as const, key })
    const keysOf = (entries: Array<{ key: Uint8Array }>) => entries.map((entry) => Array.from(entry.key))

    afterEach(async () => {
      for (const storage of created.splice(0)) await storage.close()
    })

    it('opens, reports its status, and open() is idempotent', async () => {
      const storage = await open()
      expect(storage.status).toBe('open')
      await storage.open()
      expect(storage.status).toBe('open')
      expect(typeof storage.supports.persistent).toBe('boolean')
      expect(typeof storage.supports.sync).toBe('boolean')
    })

    it('gets undefined for a missing key, and what was put for a present one', async () => {
      const storage = await open()
      expect(await storage.get(bytes(1, 2, 3))).toBeUndefined()
      await storage.write([put(bytes(1, 2, 3), bytes(9, 8, 7))])
      expectBytes(await storage.get(bytes(1, 2, 3)), bytes(9, 8, 7))
      expect(await storage.get(bytes(1, 2))).toBeUndefined()
      expect(await storage.get(bytes(1, 2, 3, 0))).toBeUndefined()
      await storage.write([put(bytes(1, 2, 3), bytes(5))])
      expectBytes(await storage.get(bytes(1, 2, 3)), bytes(5))
      await storage.write([del(bytes(1, 2, 3))])
      expect(await storage.get(bytes(1, 2, 3))).toBeUndefined()
    })

    it('stores empty, binary and large values exactly', async () => {
      const storage = await open()
      const all = Uint8Array.from({ length: 256 }, (_, i) => i)
      const large = Uint8Array.from({ length: 1 << 20 }, (_, i) => (i * 131) & 0xff)
      await storage.write([put(bytes(1), new Uint8Array(0)), put(bytes(2), all), put(bytes(3), large)])
      const empty = await storage.get(bytes(1))
      expect(empty).toBeInstanceOf(Uint8Array)
      expect(empty?.length).toBe(0)
      expectBytes(await storage.get(bytes(2)), all)
      expect(compareBytes((await storage.get(bytes(3)))!, large)).toBe(0)
    })

    it('does not share buffers with the caller', async () => {
      const storage = await open()
      const key = bytes(4, 4)
      const value = bytes(1, 2, 3)
      await storage.write([put(key, value)])
      value[0] = 99
      key[1] = 5
      const read = (await storage.get(bytes(4, 4)))!
      expectBytes(read, bytes(1, 2, 3))
      read[0] = 42
      expectBytes(await storage.get(bytes(4, 4)), bytes(1, 2, 3))
      const [entry] = await storage.range({ limit: 1 })
      entry!.value[1] = 42
      expectBytes(await storage.get(bytes(4, 4)), bytes(1, 2, 3))
    })

    it('copies Buffer-like inputs whose slice() is a view (as Node Buffer.slice is)', async () => {
      const storage = await open()
      const key = ViewSlicingBytes.of(6, 6)
      const value = ViewSlicingBytes.of(7, 8, 9)
      await storage.write([put(key, value)])
      value[0] = 99
      key[1] = 5
      expectBytes(await storage.get(bytes(6, 6)), bytes(7, 8, 9))
      expect(await storage.get(bytes(6, 5))).toBeUndefined()
    })

    it('orders keys bytewise, unsigned, shorter prefix first (0x00 and 0xff edges)', async () => {
      const storage = await open()
      const shuffled = [...EDGE_KEYS].reverse()
      shuffled.push(shuffled.splice(3, 1)[0]!)
      await storage.write(shuffled.map((key, i) => put(key, bytes(i))))
      const expected = EDGE_KEYS.map((key) => Array.from(key))
      expect(keysOf(await storage.range())).toEqual(expected)
      expect(keysOf(await storage.range({ reverse: true }))).toEqual([...expected].reverse())
      expect(keysOf(await storage.range({ gte: bytes(0xff) }))).toEqual(expected.slice(8))
      expect(keysOf(await storage.range({ lt: bytes(0x00, 0x00) }))).toEqual([[0x00]])
    })

    it('applies puts and dels of one write atomically and in order', async () => {
      const storage = await open()
      await storage.write([put(bytes(1), bytes(1)), put(bytes(2), bytes(2))])
      await storage.write([
        del(bytes(1)),
        put(bytes(3), bytes(3)),
        put(bytes(4), bytes(4)),
        del(bytes(4)),
        del(bytes(5)),
        put(bytes(5), bytes(5)),
        put(bytes(2), bytes(22)),
      ])
      const entries = await storage.range()
      expect(keysOf(entries)).toEqual([[2], [3], [5]])
      expect(entries.map((entry) => Array.from(entry.value))).toEqual([[22], [3], [5]])
      await storage.write([])
      await storage.write([], { sync: true })
      expect(keysOf(await storage.range())).toEqual([[2], [3], [5]])
    })

    it('honours range bounds gte, lt, reverse and limit', async () => {
      const storage = await open()
      await storage.write(Array.from({ length: 10 }, (_, i) => put(bytes(0x10, i), bytes(i))))
      const all = await storage.range()
      expect(all).toHaveLength(10)
      const k = (i: number) => [0x10, i]
      expect(keysOf(await storage.range({ gte: bytes(0x10, 3), lt: bytes(0x10, 6) }))).toEqual([
        k(3),
        k(4),
        k(5),
      ])
      expect(keysOf(await storage.range({ gte: bytes(0x10, 3), lt: bytes(0x10, 6), reverse: true }))).toEqual(
        [k(5), k(4), k(3)],
      )
      expect(keysOf(await storage.range({ limit: 2 }))).toEqual([k(0), k(1)])
      expect(keysOf(await storage.range({ limit: 2, reverse: true }))).toEqual([k(9), k(8)])
      expect(keysOf(await storage.range({ lt: bytes(0x10, 2), reverse: true, limit: 5 }))).toEqual([
        k(1),
        k(0),
      ])
      expect(keysOf(await storage.range({ gte: bytes(0x10) }))).toHaveLength(10)
      expect(keysOf(await storage.range({ gte: bytes(0x10, 9, 0) }))).toEqual([])
      expect(await storage.range({ limit: 0 })).toEqual([])
      expect(await storage.range({ gte: bytes(0x10, 6), lt: bytes(0x10, 3) })).toEqual([])
      expect(await storage.range({ gte: bytes(0x10, 4), lt: bytes(0x10, 4) })).toEqual([])
      expect(await storage.range({ limit: STORAGE_RANGE_LIMIT_MAX })).toHaveLength(10)
    })

    it('returns the same entries to a borrowing range as to a plain one', async () => {
      const storage = await open()
      await storage.write(Array.from({ length: 6 }, (_, i) => put(bytes(0x20, i), bytes(i, i + 1))))
      for (const options of [{}, { gte: bytes(0x20, 2), lt: bytes(0x20, 5) }, { reverse: true, limit: 3 }]) {
        const plain = await storage.range(options)
        const borrowed = await storage.range({ ...options, borrow: true })
        expect(keysOf(borrowed)).toEqual(keysOf(plain))
        expect(borrowed.map((e) => [...e.value])).toEqual(plain.map((e) => [...e.value]))
      }
    })

    it('clears exactly the given range', async () => {
      const storage = await open()
      await storage.write(Array.from({ length: 10 }, (_, i) => put(bytes(i), bytes(i))))
      await storage.clear({ gte: bytes(2), lt: bytes(5) })
      expect(keysOf(await storage.range())).toEqual([[0], [1], [5], [6], [7], [8], [9]])
      await storage.clear({ gte: bytes(8) })
      expect(keysOf(await storage.range())).toEqual([[0], [1], [5], [6], [7]])
      await storage.clear({ lt: bytes(1) })
      expect(keysOf(await storage.range())).toEqual([[1], [5], [6], [7]])
      await storage.clear({ gte: bytes(6), lt: bytes(6) })
      expect(keysOf(await storage.range())).toEqual([[1], [5], [6], [7]])
      await storage.clear()
      expect(await storage.range()).toEqual([])
    })

    it('rejects bad arguments with INVALID_ARGUMENT', async () => {
      const storage = await open()
      const notBytes = 'abc' as unknown as Uint8Array
      expect(await codeOf(() => storage.get(notBytes))).toBe('INVALID_ARGUMENT')
      expect(await codeOf(() => storage.get(new Uint8Array(0)))).toBe('INVALID_ARGUMENT')
      expect(await codeOf(() => storage.write('x' as never))).toBe('INVALID_ARGUMENT')
      expect(await codeOf(() => storage.write([null as never]))).toBe('INVALID_ARGUMENT')
      expect(await codeOf(() => storage.write([{ type: 'merge', key: bytes(1) } as never]))).toBe(
        'INVALID_ARGUMENT',
      )
      expect(await codeOf(() => storage.write([put(bytes(1), 'v' as never)]))).toBe('INVALID_ARGUMENT')
      expect(await codeOf(() => storage.write([put(new Uint8Array(0), bytes(1))]))).toBe('INVALID_ARGUMENT')
      expect(await codeOf(() => storage.write([del(notBytes)]))).toBe('INVALID_ARGUMENT')
      expect(await codeOf(() => storage.range({ gte: notBytes }))).toBe('INVALID_ARGUMENT')
      expect(await codeOf(() => storage.range({ lt: new Uint8Array(0) }))).toBe('INVALID_ARGUMENT')
      for (const limit of [-1, 1.5, Number.NaN, STORAGE_RANGE_LIMIT_MAX + 1, Number.POSITIVE_INFINITY]) {
        expect(await codeOf(() => storage.range({ limit }))).toBe('INVALID_ARGUMENT')
      }
      expect(await codeOf(() => storage.clear({ gte: notBytes }))).toBe('INVALID_ARGUMENT')
      // A rejected batch writes nothing, not even its valid operations.
      expect(await codeOf(() => storage.write([put(bytes(7), bytes(7)), put(bytes(8), 'v' as never)]))).toBe(
        'INVALID_ARGUMENT',
      )
      expect(await storage.get(bytes(7))).toBeUndefined()
    })

    it('rejects every method with STORAGE_NOT_OPEN before open()', async () => {
      const storage = await make()
      if (storage.status !== 'opening') return // this factory hands out open stores
      expect(await codeOf(() => storage.get(bytes(1)))).toBe('STORAGE_NOT_OPEN')
      expect(await codeOf(() => storage.write([put(bytes(1), bytes(1))]))).toBe('STORAGE_NOT_OPEN')
      expect(await codeOf(() => storage.range())).toBe('STORAGE_NOT_OPEN')
      expect(await codeOf(() => storage.clear())).toBe('STORAGE_NOT_OPEN')
      await storage.open()
      expect(await storage.get(bytes(1))).toBeUndefined()
    })

    it('rejects every method with STORAGE_CLOSED after close(), which is idempotent', async () => {
      const storage = await open()
      await storage.write([put(bytes(1), bytes(1))])
      await storage.close()
      await storage.close()
      expect(storage.status).toBe('closed')
      expect(await codeOf(() => storage.get(bytes(1)))).toBe('STORAGE_CLOSED')
      expect(await codeOf(() => storage.write([put(bytes(1), bytes(1))]))).toBe('STORAGE_CLOSED')
      expect(await codeOf(() => storage.range())).toBe('STORAGE_CLOSED')
      expect(await codeOf(() => storage.clear())).toBe('STORAGE_CLOSED')
      expect(await codeOf(() => storage.open())).toBe('STORAGE_CLOSED')
    })

    it('keeps synced writes across close and reopen (persistent stores)', async () => {
      const location = `compliance-reopen-${locationCounter++}`
      const storage = await open(location)
      if (!storage.supports.persistent) return
      await storage.write(
        EDGE_KEYS.map((key, i) => put(key, bytes(i))),
        { sync: true },
      )
      await storage.write([del(bytes(0x7f)), put(bytes(0x7f, 1), bytes(42))], { sync: true })
      await storage.clear({ gte: bytes(0xff, 0xff) })
      await storage.write([], { sync: true })
      await storage.close()
      const reopened = await reopen(storage, location)
      const expected = EDGE_KEYS.filter(
        (key) => compareBytes(key, bytes(0x7f)) !== 0 && compareBytes(key, bytes(0xff, 0xff)) < 0,
      )
      expected.push(bytes(0x7f, 1))
      expected.sort(compareBytes)
      expect(keysOf(await reopened.range())).toEqual(expected.map((key) => Array.from(key)))
      expectBytes(await reopened.get(bytes(0x7f, 1)), bytes(42))
      expectBytes(await reopened.get(bytes(0x00, 0xff)), bytes(2))
    })
  })
}

/** A Uint8Array whose slice() returns a view, as Node's Buffer does: a copy must not use slice(). */
class ViewSlicingBytes extends Uint8Array<ArrayBuffer> {
  override slice(start?: number, end?: number): Uint8Array<ArrayBuffer> {
    return this.subarray(start, end)
  }
}
