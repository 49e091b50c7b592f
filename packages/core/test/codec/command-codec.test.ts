import { describe, expect, it } from 'vitest'
import {
  type ControllerCommand,
  decodeControllerCommand,
  decodePartitionCommand,
  encodeControllerCommand,
  encodePartitionCommand,
  encodeRecords,
  isLaminarError,
  type PartitionCommand,
  peekCommandType,
  RecordBatch,
} from '../../src/index'

const bytes = (...values: number[]) => new Uint8Array(values)

const partitionCommands: PartitionCommand[] = [
  {
    type: 'append',
    producerId: 'p-1',
    sequence: 7,
    batch: RecordBatch.encode([
      {
        key: bytes(1, 2),
        value: bytes(3, 4, 5),
        headers: { trace: bytes(9) },
        timestampMs: 1_700_000_000_000,
      },
      { key: null, value: new Uint8Array(0), headers: {}, timestampMs: 0 },
    ]),
  },
  {
    type: 'append',
    batch: RecordBatch.encode([{ key: null, value: bytes(1), headers: {}, timestampMs: 5 }]),
  },
  {
    type: 'groupCreate',
    group: 'billing',
    config: {
      ackWaitMs: 1000,
      maxDeliveries: 3,
      deadLetterTopic: 'dlq',
      perKeyOrdering: true,
      startPosition: { type: 'time', timestampMs: 12 },
    },
  },
  { type: 'groupConfig', group: 'billing', config: { deadLetterTopic: null } },
  { type: 'ack', group: 'billing', offsets: [1, 2, 3] },
  { type: 'delivered', group: 'billing', offsets: [4] },
  { type: 'deadLettered', group: 'billing', offsets: [] },
  { type: 'commitOffset', group: 'reader', offset: 42 },
  { type: 'groupDelete', group: 'billing' },
]

const controllerCommands: ControllerCommand[] = [
  { type: 'join', nodeId: 'n1', addresses: { peer: '127.0.0.1:7101' } },
  { type: 'join', nodeId: 'n1', addresses: {}, storageId: 'disk-a' },
  { type: 'join', nodeId: 'n1', addresses: {}, storageId: 'disk-a', freshStorage: true },
  { type: 'leave', nodeId: 'n1' },
  { type: 'createTopic', name: 'orders', partitions: 3, replicationFactor: 3, config: { retentionMs: 1000 } },
  { type: 'deleteTopic', name: 'orders' },
  { type: 'reassignPartition', topic: 'orders', partition: 1, replicas: ['n2', 'n3'] },
]

function normalize(value: unknown): unknown {
  // Decoded bytes may be Buffer views and headers null-prototype objects: compare contents only.
  return JSON.parse(
    JSON.stringify(value, (_key, v) => (v instanceof Uint8Array ? { bytes: [...v] } : v)),
  ) as unknown
}

describe('command codec', () => {
  it.each(partitionCommands.map((c) => [c.type, c] as const))(
    'round-trips partition %s',
    (_type, command) => {
      const decoded = decodePartitionCommand(encodePartitionCommand(command))
      expect(normalize(decoded)).toEqual(
        normalize(command.type === 'groupCreate' ? { config: {}, ...command } : command),
      )
      expect(peekCommandType(encodePartitionCommand(command))).toBe(command.type)
    },
  )

  it.each(controllerCommands.map((c) => [c.type, c] as const))(
    'round-trips controller %s',
    (_type, command) => {
      const decoded = decodeControllerCommand(encodeControllerCommand(command))
      expect(normalize(decoded)).toMatchObject(normalize(command) as object)
    },
  )

  it('decodes record bytes as views of the entry, without copying them', () => {
    const value = new Uint8Array(1024).fill(7)
    const data = encodePartitionCommand({
      type: 'append',
      batch: RecordBatch.encode([{ key: null, value, headers: {}, timestampMs: 1 }]),
    })
    const decoded = decodePartitionCommand(data)
    if (decoded.type !== 'append') throw new Error('expected append')
    const [record] = decoded.batch.records()
    expect(record!.value.buffer).toBe(data.buffer)
    expect([...record!.value]).toEqual([...value])
  })

  it('rejects garbage with STORAGE_CORRUPT, never another error', () => {
    const valid = encodePartitionCommand(partitionCommands[0]!)
    const garbage: Uint8Array[] = [
      bytes(),
      bytes(1),
      bytes(99, 1, 0x90),
      bytes(1, 200, 0x90),
      bytes(1, 1, 0xc1),
      bytes(1, 1, 0x93, 1),
      bytes(1, 1, 0x93, 0xc0, 0xc0, 0x91, 0x94, 0xc0, 0xc0, 0x80, 1),
      bytes(1, 4, 0x92, 0xa1, 0x61, 0x91, 0xa1, 0x62),
      valid.subarray(0, valid.length - 3),
    ]
    // Every single-byte corruption of a valid entry either decodes or fails with STORAGE_CORRUPT.
    for (let i = 0; i < valid.length; i++) {
      const copy = valid.slice()
      copy[i] = copy[i]! ^ 0xff
      garbage.push(copy)
    }
    let rejected = 0
    for (const data of garbage) {
      try {
        decodePartitionCommand(data)
      } catch (error) {
        expect(isLaminarError(error, 'STORAGE_CORRUPT')).toBe(true)
        rejected++
      }
    }
    expect(rejected).toBeGreaterThanOrEqual(9)
    expect(() => decodeControllerCommand(valid)).toThrow(expect.objectContaining({ code: 'STORAGE_CORRUPT' }))
    expect(peekCommandType(bytes())).toBeUndefined()
  })

  it('keeps header names off the prototype chain', () => {
    const headers: Record<string, Uint8Array> = {}
    Object.defineProperty(headers, '__proto__', { value: bytes(1), enumerable: true })
    const data = encodePartitionCommand({
      type: 'append',
      batch: RecordBatch.encode([{ key: null, value: bytes(1), headers, timestampMs: 1 }]),
    })
    const decoded = decodePartitionCommand(data)
    if (decoded.type !== 'append') throw new Error('expected append')
    const [record] = decoded.batch.records()
    expect(Object.keys(record!.headers)).toEqual(['__proto__'])
    expect(Object.getPrototypeOf(record!.headers)).toBeNull()
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('still reads appends in the first (msgpack) format', () => {
    // [version 1][tag 1][msgpack [null, null, [[null, bin(1), {}, 5]]]]
    const data = bytes(1, 1, 0x93, 0xc0, 0xc0, 0x91, 0x94, 0xc0, 0xc4, 1, 42, 0x80, 5)
    const decoded = decodePartitionCommand(data)
    if (decoded.type !== 'append') throw new Error('expected append')
    expect(decoded.producerId).toBeUndefined()
    expect(normalize(decoded.batch.records())).toEqual(
      normalize([{ key: null, value: bytes(42), headers: {}, timestampMs: 5 }]),
    )
    expect(peekCommandType(data)).toBe('append')
  })

  it('encodes after a reserved prefix, short (no copy) or long (one copy), and later encodes leave it intact', () => {
    for (const prefixBytes of [0, 1, 12, 253, 254, 300]) {
      for (const command of partitionCommands) {
        const plain = encodePartitionCommand(command)
        const prefixed = encodePartitionCommand(command, prefixBytes)
        expect(prefixed.constructor).toBe(Uint8Array)
        expect(prefixed.length).toBe(prefixBytes + plain.length)
        expect(prefixed.subarray(0, prefixBytes).every((byte) => byte === 0)).toBe(true)
        const copy = prefixed.slice()
        // Many more encodes through the shared packer must not write over earlier results.
        for (let i = 0; i < 50; i++) encodePartitionCommand(partitionCommands[0]!, prefixBytes)
        expect(prefixed).toEqual(copy)
        expect(decodePartitionCommand(prefixed.subarray(prefixBytes))).toEqual(decodePartitionCommand(plain))
      }
    }
  })

  it('writes an append header in front of a batch given with headroom, once; too little headroom or a second encode copies', () => {
    const records = [{ key: null, value: new Uint8Array(100).fill(7), headers: {}, timestampMs: 3 }]
    const command = (batch: Uint8Array): PartitionCommand => ({
      type: 'append',
      producerId: 'p-9',
      sequence: 4,
      batch: new RecordBatch(batch),
    })
    const headerBytes = 2 + 2 + 3 + 8
    const given = encodeRecords(records, 40 + headerBytes)
    const inPlace = encodePartitionCommand(command(given), 40)
    expect(inPlace.buffer).toBe(given.buffer)
    expect(inPlace.byteOffset).toBe(0)
    expect(inPlace.length).toBe(40 + headerBytes + given.length)
    const decoded = decodePartitionCommand(inPlace.subarray(40)) as Extract<
      PartitionCommand,
      { type: 'append' }
    >
    expect(decoded).toMatchObject({ producerId: 'p-9', sequence: 4 })
    expect(decoded.batch.bytes.byteOffset).toBe(given.byteOffset)
    // The headroom was taken: encoding the same batch again must not write over the first entry.
    const before = inPlace.slice()
    const again = encodePartitionCommand(command(given), 40)
    expect(again.buffer).not.toBe(given.buffer)
    expect(inPlace).toEqual(before)
    expect(again.subarray(40)).toEqual(inPlace.subarray(40))
    // Headroom smaller than the prefix and header: copied, the bytes in front left alone.
    const short = encodeRecords(records, 40 + headerBytes - 1)
    const copied = encodePartitionCommand(command(short), 40)
    expect(copied.buffer).not.toBe(short.buffer)
    expect(new Uint8Array(short.buffer, 0, short.byteOffset).every((byte) => byte === 0)).toBe(true)
    expect(copied.subarray(40)).toEqual(inPlace.subarray(40))
  })
})
