/**
 * The memory floor of the produce path on this machine: for N x 1 KiB messages, encode record
 * batches of 256 (codec/record-batch), then make three copies of each batch, each CRC32C'd (what
 * three replicas in one process must at least do), and no Raft, log, storage or transport.
 * Two ways, each in its own process (so one does not reuse the other's memory):
 * - keep: every copy is kept alive to the end, as the broker bench's memory-level storage keeps
 *   every replica's entries; each copy touches fresh memory (page faults);
 * - recycle: copies go into a ring of buffers reused once they are old, as storage that writes
 *   to disk and drops its buffers would allow; the batch encoding allocates as the producer does.
 * Prints msg/s, CPU µs/msg (user + system) and minor page faults for each: what the broker's
 * produce figure can reach at best in one process here.
 * Run from packages/core: tsx --conditions=source bench/memory-floor.bench.ts
 * Env: BENCH_MESSAGES (default 200000).
 */
import { spawnSync } from 'node:child_process'
import { encodeRecords, type LaminarRecord } from '../src/index'
import { crc32c } from '../src/log/index'

const messages = Number(process.env.BENCH_MESSAGES ?? 200_000)
const messageBytes = 1024
const batchMessages = 256
const replicas = 3
/** Copies alive at once in the recycling way: a few batches' worth per replica, as in flight. */
const RING_SLOTS = 64

type Mode = 'keep' | 'recycle'

function run(mode: Mode): string {
  const value = new Uint8Array(messageBytes).fill(120)
  const records: LaminarRecord[] = Array.from({ length: batchMessages }, () => ({
    key: null,
    value,
    headers: {},
    timestampMs: 1,
  }))
  const kept: Uint8Array[] = []
  const ring: Uint8Array[] = []
  let ringAt = 0
  let checksum = 0
  const faultsStart = process.resourceUsage().minorPageFault
  const cpuStart = process.cpuUsage()
  const started = performance.now()
  for (let sent = 0; sent < messages; sent += batchMessages) {
    const count = Math.min(batchMessages, messages - sent)
    const batch = encodeRecords(count === batchMessages ? records : records.slice(0, count))
    for (let r = 0; r < replicas; r++) {
      let copy: Uint8Array
      if (mode === 'keep') {
        copy = batch.slice()
        kept.push(copy)
      } else {
        const slot = ring[ringAt]
        copy = slot !== undefined && slot.length === batch.length ? slot : new Uint8Array(batch.length)
        copy.set(batch)
        ring[ringAt] = copy
        ringAt = (ringAt + 1) % RING_SLOTS
      }
      checksum ^= crc32c(copy)
    }
  }
  const seconds = (performance.now() - started) / 1000
  const cpu = process.cpuUsage(cpuStart)
  const faults = process.resourceUsage().minorPageFault - faultsStart
  return (
    `${mode.padEnd(7)}: ${messages} x ${messageBytes} B, batches of ${batchMessages}, ${replicas} copies each CRC'd: ` +
    `${Math.round(messages / seconds).toLocaleString('en-US')} msg/s (${seconds.toFixed(2)} s, ` +
    `${((cpu.user + cpu.system) / messages).toFixed(1)} CPU µs/msg, ${faults.toLocaleString('en-US')} page faults, ` +
    `${kept.length} kept copies, checksum ${(checksum >>> 0).toString(16)})`
  )
}

const mode = process.env.FLOOR_MODE as Mode | undefined
if (mode === 'keep' || mode === 'recycle') {
  console.log(run(mode))
} else {
  for (const each of ['recycle', 'keep'] as const) {
    const child = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
      env: { ...process.env, FLOOR_MODE: each },
      stdio: 'inherit',
    })
    if (child.status !== 0) process.exit(child.status ?? 1)
  }
}
