/**
 * Simulated seconds per wall second for a 3-node Raft cluster under steady proposals
 * (a client proposing every `intervalMs`, calm network, no faults). Target: >= 50x.
 *
 *   pnpm --filter @laminar-ts/transport-memory bench
 */
import { MemoryNetwork, RaftClient, type RaftProcess, Simulation } from '../src/index'

async function measure(label: string, intervalMs: number, simSeconds: number): Promise<void> {
  const sim = new Simulation<RaftProcess>({ seed: 7, nodes: 3 })
  const client = new RaftClient(sim, sim.random.fork(), { intervalMs, inFlightMax: 64 })
  await sim.runFor(1_000) // elect a leader before measuring
  client.start()
  await sim.runFor(10_000) // let the JIT warm up on this very workload
  const startedMs = performance.now()
  const startedCpu = process.cpuUsage()
  await sim.runFor(simSeconds * 1_000)
  const wallSeconds = (performance.now() - startedMs) / 1_000
  const cpu = process.cpuUsage(startedCpu)
  const cpuSeconds = (cpu.user + cpu.system) / 1e6
  client.stop()
  const result = sim.check()
  process.stdout.write(
    `${label}: ${simSeconds} simulated s in ${wallSeconds.toFixed(2)} wall s = ` +
      `${(simSeconds / wallSeconds).toFixed(1)}x real time (${(simSeconds / cpuSeconds).toFixed(1)}x per CPU second); ${client.stats.acked} proposals acknowledged ` +
      `(${(client.stats.acked / wallSeconds).toFixed(0)}/wall s), ${sim.eventsRun} events, ` +
      `checks ${result.ok ? 'ok' : `FAILED: ${result.violations[0]?.message}`}\n`,
  )
}

await measure('3 nodes, 1 proposal / 50 ms', 50, 120)
await measure('3 nodes, 1 proposal / 10 ms', 10, 120)
await measure('3 nodes, 1 proposal / 2 ms', 2, 60)

/** MemoryTransport on real time (what embedded clusters use): 1 KiB frames through one connection. */
async function measureTransport(frames: number): Promise<void> {
  const network = new MemoryNetwork()
  let received = 0
  let done: () => void = () => {}
  const finished = new Promise<void>((resolve) => {
    done = resolve
  })
  await network.transport({ host: 'a' }).listen('a', (connection) =>
    connection.on('message', () => {
      if (++received === frames) done()
    }),
  )
  const connection = await network.transport({ host: 'b' }).connect('a')
  const frame = new Uint8Array(1024)
  let sent = 0
  const pump = (): void => {
    while (sent < frames) {
      sent++
      if (!connection.send(frame)) return
    }
  }
  connection.on('drain', pump)
  const startedMs = performance.now()
  pump()
  await finished
  const wallSeconds = (performance.now() - startedMs) / 1_000
  process.stdout.write(
    `MemoryTransport (real time): ${frames} frames of 1 KiB in ${wallSeconds.toFixed(2)} s = ` +
      `${(frames / wallSeconds).toFixed(0)} frames/s\n`,
  )
  connection.close()
}

await measureTransport(1_000_000)
