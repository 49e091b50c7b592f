/**
 * laminar-ts embedded demo: three LaminarNodes in this one process on the in-memory transport,
 * each with its own classic-level (LevelDB) store under ./data/<node id>. A topic with 3
 * partitions, one producer, a consumer group of 3 members; midway the leader of partition 0 is
 * stopped and restarted while production and consumption go on. It ends by checking that every
 * acknowledged message was consumed (exit code 1 otherwise). Run it twice: the second run finds
 * the first run's data on disk.
 *
 *   pnpm demo                  (data in examples/embedded-cluster/data)
 *   pnpm demo -- --data DIR    (elsewhere)
 */
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { type Consumer, connect, isLaminarError, LaminarNode, type PeerConfig } from '@laminar-ts/core'
import { openClassicLevelStorage } from '@laminar-ts/storage-level'
import { MemoryNetwork } from '@laminar-ts/transport-memory'

const TOPIC = 'demo'
const GROUP = 'demo-workers'
const PARTITIONS = 3
const MESSAGES_PER_PHASE = Number(process.env.DEMO_MESSAGES_PER_PHASE ?? 5000)
const MESSAGE_BYTES = 256

function argument(name: string): string | undefined {
  const at = process.argv.indexOf(name)
  return at === -1 ? undefined : process.argv[at + 1]
}

const dataDir = resolve(argument('--data') ?? 'data')
const network = new MemoryNetwork()
const peers: PeerConfig[] = [1, 2, 3].map((i) => ({ id: `n${i}`, address: `demo-node-${i}` }))
const nodes = new Map<string, LaminarNode>()

async function startNode(id: string): Promise<LaminarNode> {
  const storage = await openClassicLevelStorage(join(dataDir, id))
  const node = new LaminarNode({
    id,
    peers,
    transport: network.transport({ host: id }),
    storage,
    options: { tickIntervalMs: 20, memberSessionTimeoutMs: 2_000 },
  })
  await node.start()
  nodes.set(id, node)
  return node
}

const log = (line: string): void => console.log(`[demo] ${line}`)
const rate = (count: number, ms: number): string =>
  `${Math.round((count * 1000) / Math.max(ms, 1)).toLocaleString('en-US')} msg/s`

async function main(): Promise<number> {
  const previousRun = existsSync(join(dataDir, 'n1'))
  await mkdir(dataDir, { recursive: true })
  log(`data directory ${dataDir}${previousRun ? ' (exists: reopening the previous run)' : ' (fresh)'}`)
  for (const peer of peers) await startNode(peer.id)
  // The producer and admin use a client of their own over the transport, as an app would: it
  // keeps working whichever node stops, following leader hints.
  const client = await connect({
    brokers: peers.map((p) => p.address),
    transport: network.transport({ host: 'app' }),
  })
  const admin = client.admin()

  const topics = await admin.listTopics()
  if (topics.includes(TOPIC)) {
    const description = await admin.describeTopic({ topic: TOPIC })
    const ends: number[] = []
    for (const p of description.partitions) {
      const records = await client.read({
        topic: TOPIC,
        partition: p.partition,
        fromOffset: 0,
        maxMessages: 100_000,
      })
      ends.push(records.length)
    }
    log(
      `found data from a previous run on disk: topic "${TOPIC}" holds ${ends.reduce((a, b) => a + b, 0)} messages (partitions: ${ends.join(', ')})`,
    )
  } else {
    await admin.createTopic({ topic: TOPIC, partitions: PARTITIONS, replicationFactor: 3 })
    log(`created topic "${TOPIC}": ${PARTITIONS} partitions, 3 replicas each`)
  }
  const runId = Date.now().toString(36)

  // A consumer group of three members, one per node's client.
  const consumed = new Set<string>()
  let consumedCount = 0
  const perMember = [0, 0, 0]
  const consumers = new Map<string, Consumer>()
  // Each member lives with its node, as an app process embedding a node would.
  async function startMember(nodeId: string): Promise<void> {
    const index = peers.findIndex((p) => p.id === nodeId)
    const consumer = nodes.get(nodeId)!.client().consumer({ groupId: GROUP, ackWaitMs: 5_000 })
    consumers.set(nodeId, consumer)
    await consumer.subscribe({ topic: TOPIC })
    await consumer.run({
      eachMessage: async ({ message }) => {
        const id = new TextDecoder().decode(message.value.subarray(0, 40)).split(' ')[0]!
        consumedCount++
        perMember[index]!++
        consumed.add(id)
      },
    })
  }
  for (const peer of peers) await startMember(peer.id)

  const producer = client.producer({ lingerMs: 2 })
  const acknowledged = new Set<string>()
  const padding = 'x'.repeat(MESSAGE_BYTES)
  let sequence = 0
  async function producePhase(name: string): Promise<void> {
    const started = performance.now()
    const sends: Promise<unknown>[] = []
    for (let i = 0; i < MESSAGES_PER_PHASE; i++) {
      const id = `${runId}-${sequence++}`
      const send = producer
        .send({ topic: TOPIC, messages: [{ key: `customer-${i % 97}`, value: `${id} ${padding}` }] })
        .then(() => acknowledged.add(id))
        .catch(() => {}) // not acknowledged: not counted, may or may not be consumed
      sends.push(send)
    }
    await Promise.all(sends)
    const ms = performance.now() - started
    log(
      `${name}: ${MESSAGES_PER_PHASE} sent, ${acknowledged.size} acknowledged so far, ${rate(MESSAGES_PER_PHASE, ms)}; consumed ${consumedCount} (members ${perMember.join('/')})`,
    )
  }

  await producePhase('phase 1')
  const description = await admin.describeTopic({ topic: TOPIC })
  const leader = description.partitions[0]!.leader ?? description.partitions[0]!.replicas[0]!
  log(`stopping ${leader}, the leader of partition 0 (and the group member living with it)`)
  await consumers.get(leader)!.stop()
  await nodes.get(leader)!.stop()
  nodes.delete(leader)
  await producePhase('phase 2 (one node down)')
  log(`restarting ${leader} from its data on disk`)
  await startNode(leader)
  await startMember(leader)
  await producePhase('phase 3 (node back)')

  const waitStarted = performance.now()
  const missing = (): string[] => [...acknowledged].filter((id) => !consumed.has(id))
  while (missing().length > 0 && performance.now() - waitStarted < 20_000) {
    await new Promise((r) => setTimeout(r, 50))
  }
  const lost = missing()
  for (const consumer of consumers.values()) await consumer.stop({ drain: true })
  log(
    `consumer group "${GROUP}": ${consumedCount} deliveries (members ${perMember.join('/')}), ${consumed.size} distinct messages`,
  )
  client.close()
  for (const node of nodes.values()) await node.stop()
  if (lost.length > 0) {
    log(
      `FAILED: ${lost.length} acknowledged messages were never consumed, e.g. ${lost.slice(0, 5).join(', ')}`,
    )
    return 1
  }
  log(`OK: every acknowledged message (${acknowledged.size}) was consumed`)
  log(`run it again: the next run finds this run's data in ${dataDir}`)
  return 0
}

// In-memory nodes hold no sockets and unref their timers: keep the process alive until done.
const keepAlive = setInterval(() => {}, 1_000)
main()
  .then((code) => {
    process.exitCode = code
  })
  .catch((error) => {
    if (isLaminarError(error, 'STORAGE_CORRUPT')) {
      // Data from an incompatible (older) version or a damaged store: say so plainly, keep it.
      console.error(`[demo] cannot open the data in ${dataDir}: ${error.message}`)
      console.error(`[demo] to start over, delete it: rm -rf ${dataDir}`)
    } else {
      console.error('[demo] crashed:', error)
    }
    process.exitCode = 1
  })
  .finally(() => clearInterval(keepAlive))
