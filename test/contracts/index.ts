/** `marina/contracts`: the storage contract suites, for custom BlobStore and MetadataIndex implementations. */
export { blobStoreContract, type MakeBlobStore } from './blob-store.contract.ts';
export { metadataIndexContract, type MakeMetadataIndex } from './metadata-index.contract.ts';
