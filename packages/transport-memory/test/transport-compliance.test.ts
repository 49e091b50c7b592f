import { transportComplianceSuite } from '@laminar-ts/core/testing'
import { MemoryNetwork } from '../src/index'

let addressSeq = 0

transportComplianceSuite({
  name: 'MemoryTransport (real time)',
  factory: () => {
    const network = new MemoryNetwork()
    return {
      server: network.transport({ host: 'server' }),
      client: network.transport({ host: 'client' }),
      listenAddress: () => `memory-${++addressSeq}`,
      unreachableAddress: 'nowhere',
    }
  },
})

transportComplianceSuite({
  name: 'MemoryTransport (one host, small high-water mark)',
  factory: () => {
    const network = new MemoryNetwork({ highWaterMarkBytes: 100_000 })
    const transport = network.transport()
    return {
      server: transport,
      client: transport,
      listenAddress: () => `memory-${++addressSeq}`,
      unreachableAddress: 'nowhere',
    }
  },
})
