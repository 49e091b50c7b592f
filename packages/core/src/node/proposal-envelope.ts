import { LaminarError } from '../errors/laminar-error'

/**
 * Every proposal a node makes carries a small header naming the proposing node and a
 * per-node sequence, so that when the entry is applied (on every replica) the proposing node
 * can find the request waiting for it. Layout: [u8 nodeIdBytes][nodeId utf8][u32 seq hi][u32 seq lo][command].
 * The command bytes follow unchanged: no re-encoding of record bytes.
 */

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder()

/** Node ids longer than this cannot propose (the header keeps its length in one byte). */
export const NODE_ID_BYTES_MAX = 255

export interface ProposalHeader {
  proposer: string
  sequence: number
}

/** Bytes of the proposal header for this proposer: [u8 length][node id][u64 sequence]. */
export function proposalHeaderBytes(proposerBytes: Uint8Array): number {
  return 1 + proposerBytes.length + 8
}

/**
 * Writes the proposal header into `target[0, proposalHeaderBytes)`: the command bytes were
 * encoded after a reserved prefix, so the whole entry is one allocation with no copy.
 */
export function writeProposalHeader(target: Uint8Array, proposerBytes: Uint8Array, sequence: number): void {
  target[0] = proposerBytes.length
  target.set(proposerBytes, 1)
  const view = new DataView(target.buffer, target.byteOffset, target.byteLength)
  const at = 1 + proposerBytes.length
  view.setUint32(at, Math.floor(sequence / 0x1_0000_0000))
  view.setUint32(at + 4, sequence >>> 0)
}

export function encodeProposal(proposerBytes: Uint8Array, sequence: number, command: Uint8Array): Uint8Array {
  const headerBytes = proposalHeaderBytes(proposerBytes)
  const out = new Uint8Array(headerBytes + command.length)
  out.set(command, headerBytes)
  writeProposalHeader(out, proposerBytes, sequence)
  return out
}

export function encodeNodeId(nodeId: string): Uint8Array {
  const bytes = textEncoder.encode(nodeId)
  if (bytes.length === 0 || bytes.length > NODE_ID_BYTES_MAX) {
    throw new LaminarError('INVALID_ARGUMENT', `node id must be 1..${NODE_ID_BYTES_MAX} bytes`, {
      details: { nodeId },
    })
  }
  return bytes
}

/** Splits an entry's data into header and command (a view, not a copy). */
export function decodeProposal(data: Uint8Array): { header: ProposalHeader; command: Uint8Array } {
  const length = data[0]
  if (length === undefined || data.length < 1 + length + 8) {
    throw new LaminarError('STORAGE_CORRUPT', 'proposal shorter than its header', {
      details: { bytes: data.length },
    })
  }
  const proposer = textDecoder.decode(data.subarray(1, 1 + length))
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  const at = 1 + length
  const sequence = view.getUint32(at) * 0x1_0000_0000 + view.getUint32(at + 4)
  return { header: { proposer, sequence }, command: data.subarray(at + 8) }
}
