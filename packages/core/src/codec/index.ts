export {
  COMMAND_FORMAT_VERSION,
  decodeControllerCommand,
  decodePartitionCommand,
  encodeControllerCommand,
  encodePartitionCommand,
  peekCommandType,
} from './command-codec'
