/**
 * `marina/contracts`: the storage contract suites, for custom BlobStore, MetadataIndex, UploadLedger, MirrorLedger and
 * Locks implementations. Each takes a name and a factory of fresh, empty instances; call it inside a bun test file.
 */
export { blobStoreContract, type MakeBlobStore } from './blob-store.contract.ts';
export { metadataIndexContract, type MakeMetadataIndex } from './metadata-index.contract.ts';
export { uploadLedgerContract, type MakeUploadLedger } from './upload-ledger.contract.ts';
export { mirrorLedgerContract, type MakeMirrorLedger } from './mirror-ledger.contract.ts';
export { locksContract, type MakeLocks } from './locks.contract.ts';
