/** `marina/contracts`: the storage contract suites, for custom BlobStore, MetadataIndex, UploadLedger and Locks implementations. */
export { blobStoreContract, type MakeBlobStore } from './blob-store.contract.ts';
export { metadataIndexContract, type MakeMetadataIndex } from './metadata-index.contract.ts';
export { uploadLedgerContract, type MakeUploadLedger } from './upload-ledger.contract.ts';
export { locksContract, type MakeLocks } from './locks.contract.ts';
