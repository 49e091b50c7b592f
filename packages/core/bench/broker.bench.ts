/**
 * Broker throughput: an in-process 3-node cluster on MemoryTransport with memory-level storage,
 * 1 KiB messages. Prints produce msg/s (one pipelined, idempotent producer) and consume + ack
 * msg/s (one consumer group of 3 members). Run: pnpm --filter @laminar-ts/core bench:broker
 * Env: BENCH_MESSAGES (default 200000), BENCH_PARTITIONS (default 3), BENCH_PROFILE=consume
 * (or produce) writes a CPU profile of that phase alone (bench/phase-profile.ts), BENCH_SKIP_CONSUME=1,
 * BENCH_ENTRY_CACHE_MIB (each group's entry cache; the node default otherwise), BENCH_BATCH_KIB
 * (the producer's maxBatchBytes, default 256).
 * Each phase also prints the process CPU time per message (user + system): on a shared machine
 * wall-clock rates swing with other load, CPU per message much less; and the phase's minor page
 * faults (fresh memory touched), which on this project's VM cost as much as the copies.
 */
import { cpuMicros, pageFaults, startBenchCluster } from './cluster'
import { profilePhase } from './phase-profile'

const messages = Number(process.env.BENCH_MESSAGES ?? 200_000)
const partitions = Number(process.env.BENCH_PARTITIONS ?? 3)
const messageBytes = 1024

function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(0)
}

async function main(): Promise<void> {
  const { nodes } = await startBenchCluster({
    tickIntervalMs: Number(process.env.BENCH_TICK_MS ?? 20),
    ...(process.env.BENCH_ENTRY_CACHE_MIB === undefined
      ? {}
      : { entryCacheBytesPerGroupMax: Number(process.env.BENCH_ENTRY_CACHE_MIB) * 1024 * 1024 }),
  })
  const client = nodes[0]!.client()
  await client.admin().createTopic({ topic: 'bench', partitions, replicationFactor: 3 })

  const value = new Uint8Array(messageBytes).fill(120)
  const producer = client.producer({
    maxBatchBytes: Number(process.env.BENCH_BATCH_KIB ?? 256) * 1024,
    maxInFlightPerPartition: 16,
    bufferBytesMax: 256 * 1024 * 1024,
  })
  const chunk = 1000
  let started = performance.now()
  let cpuStart = process.cpuUsage()
  const produceFaultsStart = pageFaults()
  const sends: Promise<unknown>[] = []
  for (let i = 0; i < messages; i += chunk) {
    const batch = Array.from({ length: Math.min(chunk, messages - i) }, () => ({ value }))
    while (producer.bufferedBytes > 128 * 1024 * 1024) await new Promise((r) => setImmediate(r))
    sends.push(producer.send({ topic: 'bench', messages: batch }))
  }
  await Promise.all(sends)
  let seconds = (performance.now() - started) / 1000
  console.log(
    `produce: ${messages} x ${messageBytes} B, ${partitions} partitions, 3 replicas: ${Math.round(messages / seconds).toLocaleString('en-US')} msg/s (${(
      (messages * messageBytes) / seconds / 1024 / 1024
    ).toFixed(
      0,
    )} MiB/s, ${seconds.toFixed(2)} s, ${(cpuMicros(cpuStart) / messages).toFixed(1)} CPU µs/msg, ${(
      pageFaults() - produceFaultsStart
    ).toLocaleString('en-US')} page faults, rss ${mib(process.memoryUsage().rss)} MiB)`,
  )

  if (process.env.BENCH_DEBUG) {
    for (const n of nodes) console.log(JSON.stringify({ ...n.status(), groups: undefined }))
    const memory = process.memoryUsage()
    console.log(
      `memory: rss ${mib(memory.rss)} MiB, array buffers ${mib(memory.arrayBuffers)} MiB, heap used ${mib(memory.heapUsed)} MiB`,
    )
  }
  if (process.env.BENCH_SKIP_CONSUME) {
    await Promise.all(nodes.map((n) => n.stop()))
    return
  }
  const stopProfile = await profilePhase('consume')
  const faultsStart = pageFaults()
  started = performance.now()
  cpuStart = process.cpuUsage()
  let consumed = 0
  let resolveDone: () => void = () => {}
  const done = new Promise<void>((resolve) => {
    resolveDone = resolve
  })
  const consumers = nodes.map((node) =>
    node.client().consumer({ groupId: 'bench', maxInFlight: 4096, fetchWaitMs: 100 }),
  )
  for (const consumer of consumers) {
    await consumer.subscribe({ topic: 'bench' })
    await consumer.run({
      eachMessage: async () => {
        if (++consumed === messages) resolveDone()
      },
    })
  }
  const progress = process.env.BENCH_DEBUG
    ? setInterval(() => console.log('consumed', consumed), 1000)
    : undefined
  await done
  if (progress) clearInterval(progress)
  seconds = (performance.now() - started) / 1000
  const faults = pageFaults() - faultsStart
  console.log(
    `consume + ack: ${messages} messages, 3 members: ${Math.round(messages / seconds).toLocaleString('en-US')} msg/s (${seconds.toFixed(2)} s, ${(cpuMicros(cpuStart) / messages).toFixed(1)} CPU µs/msg, ${faults.toLocaleString('en-US')} page faults)`,
  )
  await stopProfile()
  await Promise.all(consumers.map((c) => c.stop()))
  await Promise.all(nodes.map((n) => n.stop()))
}

// In-memory nodes hold no sockets and their timers are unref'd: keep the process alive while we run.
const keepAlive = setInterval(() => {}, 1000)
await main()
clearInterval(keepAlive)
