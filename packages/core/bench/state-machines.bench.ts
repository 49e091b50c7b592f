/**
 * Microbenchmark of the broker's pure parts: encoding/decoding append entries, applying them to
 * the PartitionStateMachine, and dispatch + ack through the Dispatcher with 3 members.
 * Run from packages/core: `tsx --conditions=source bench/state-machines.bench.ts`
 */
import {
  DEFAULT_GROUP_CONFIG,
  Dispatcher,
  decodePartitionCommand,
  encodePartitionCommand,
  type LaminarRecord,
  PartitionStateMachine,
  RecordBatch,
} from '../src/index'

const MESSAGES = 500_000
const BATCH = 100
const VALUE_BYTES = 1024

/** Runs `run` once to warm up the JIT, then once measured. */
function measure(label: string, messages: number, run: () => void): void {
  run()
  const start = process.hrtime.bigint()
  run()
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  console.log(
    `${label.padEnd(44)} ${Math.round(messages / seconds)
      .toLocaleString('en-US')
      .padStart(12)} msg/s`,
  )
}

const value = new Uint8Array(VALUE_BYTES).fill(97)
const records: LaminarRecord[] = Array.from({ length: BATCH }, (_, i) => ({
  key: new TextEncoder().encode(`key-${i % 16}`),
  value,
  headers: {},
  timestampMs: 1_700_000_000_000 + i,
}))
const batches = MESSAGES / BATCH
// The producer encodes the batch once (measured apart); the append command carries it unchanged.
const encodeAppend = (sequence: number) =>
  encodePartitionCommand({ type: 'append', producerId: 'p', sequence, batch: RecordBatch.encode(records) })

// Encoding keeps only a small ring of entries: retaining 500 MB would measure the GC instead.
const ring: Uint8Array[] = []
measure(`encode append (${BATCH} x ${VALUE_BYTES} B records)`, MESSAGES, () => {
  for (let sequence = 0; sequence < batches; sequence++) ring[sequence % 64] = encodeAppend(sequence)
})
const entries = Array.from({ length: batches }, (_, sequence) => encodeAppend(sequence))

let sm = new PartitionStateMachine()
measure('apply append entries (decode included)', MESSAGES, () => {
  sm = new PartitionStateMachine()
  for (const [i, data] of entries.entries()) sm.applyEntry(i + 1, data)
})
measure('decode append entries, records too (a reader)', MESSAGES, () => {
  for (const data of entries) {
    const command = decodePartitionCommand(data)
    if (command.type === 'append') command.batch.records()
  }
})
console.log(`  endOffset ${sm.endOffset}, snapshot ${sm.snapshot().length} B`)

function dispatchAndAck(perKeyOrdering: boolean): void {
  const dispatcher = new Dispatcher({
    group: {
      name: 'g',
      config: { ...DEFAULT_GROUP_CONFIG, perKeyOrdering },
      ackFloor: 0,
      acked: [],
      deliveryCounts: [],
    },
    endOffset: 0,
  })
  for (const member of ['a', 'b', 'c']) dispatcher.addMember(member, 1000)
  const keys = records.map((r) => r.key)
  let commands = 0
  for (let base = 0; base < MESSAGES; base += BATCH) {
    dispatcher.onRecordsAvailable(base + BATCH, { baseOffset: base, keys })
    const deliveries = dispatcher.nextDeliveries(base)
    for (const delivery of deliveries) dispatcher.ack(delivery.memberId, [delivery.offset])
    commands += dispatcher.takeCommands().length
  }
  if (dispatcher.status().ackFloor !== MESSAGES) throw new Error('not everything was acked')
  if (commands === 0) throw new Error('no ack commands')
}

measure('dispatch + ack, 3 members', MESSAGES, () => dispatchAndAck(false))
measure('dispatch + ack, 3 members, per-key ordering', MESSAGES, () => dispatchAndAck(true))
