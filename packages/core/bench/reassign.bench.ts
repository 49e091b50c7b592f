/**
 * Partition reassignment: an in-process 3-node cluster on MemoryTransport with memory-level
 * storage, a 4th node joins, one partition holding BENCH_MESSAGES (default 100000) 1 KiB messages
 * moves [n1,n2,n3] -> [n2,n3,n4]. Prints how long the move took until the controller shows it complete
 * (learner catch-up, the joint change, the leader's report), the catch-up rate, and the CPU used.
 * Run from packages/core: tsx --conditions=source bench/reassign.bench.ts
 */
import { cpuMicros, startBenchCluster } from './cluster'

const messages = Number(process.env.BENCH_MESSAGES ?? 100_000)
const messageBytes = 1024
const tickIntervalMs = Number(process.env.BENCH_TICK_MS ?? 20)

async function main(): Promise<void> {
  const cluster = await startBenchCluster({ tickIntervalMs })
  const { nodes } = cluster
  const admin = nodes[0]!.client().admin()
  await admin.createTopic({ topic: 'moving', partitions: 1, replicationFactor: 3 })
  const producer = nodes[0]!.client().producer({ maxBatchBytes: 256 * 1024, maxInFlightPerPartition: 16 })
  const value = new Uint8Array(messageBytes).fill(120)
  const chunk = 1000
  const sends: Promise<unknown>[] = []
  for (let i = 0; i < messages; i += chunk) {
    const batch = Array.from({ length: Math.min(chunk, messages - i) }, () => ({ value }))
    sends.push(producer.send({ topic: 'moving', messages: batch }))
    // At most 16 MiB in flight: the producer's buffer is bounded.
    if (sends.length === 16) await Promise.all(sends.splice(0))
  }
  await Promise.all(sends)

  const joiner = await cluster.join('n4')

  const started = performance.now()
  const cpuStart = process.cpuUsage()
  await admin.reassignPartition({ topic: 'moving', partition: 0, replicas: ['n2', 'n3', 'n4'] })
  for (;;) {
    const partition = (await admin.describeCluster()).partitions[0]!
    if (!partition.reassigning) break
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  const seconds = (performance.now() - started) / 1000
  const cpuSeconds = cpuMicros(cpuStart) / 1e6
  const megabytes = (messages * messageBytes) / (1024 * 1024)
  console.log(
    `reassign 1 partition of ${messages} x ${messageBytes} B (${megabytes.toFixed(0)} MiB) onto a joined node: ` +
      `${seconds.toFixed(2)} s (${Math.round(messages / seconds).toLocaleString('en-US')} msg/s, ` +
      `${(megabytes / seconds).toFixed(1)} MiB/s caught up), CPU ${cpuSeconds.toFixed(2)} s, tick ${tickIntervalMs} ms`,
  )
  await Promise.all([...nodes, joiner].map((n) => n.stop()))
}

// In-memory nodes hold no sockets and their timers are unref'd: keep the process alive while we run.
const keepAlive = setInterval(() => {}, 1000)
await main()
clearInterval(keepAlive)
