import { storageComplianceSuite } from '../../src/testing/storage-suite'
import { TestMemoryStorage } from '../log/memory-storage'

// The in-test storage the log tests use must itself keep the port's contract.
storageComplianceSuite({ name: 'core test memory storage', factory: () => new TestMemoryStorage() })
