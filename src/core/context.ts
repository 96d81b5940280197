/**
 * What every core operation works on: the stores, the settings that change protocol behaviour, and event hooks.
 */
import type { Digest } from '../oci/digest.ts';
import type { BlobStore, Locks, ManifestRecord, MetadataIndex, UploadLedger } from '../storage/types.ts';
import { currentActor, type Identity } from './actor.ts';

/** An event emitted after a successful operation (for notifications and audit). */
export interface RegistryEvent {
  repository: string;
  /** The tag or digest the client used. */
  reference: string;
  digest: Digest;
  mediaType: string;
  size: number;
  /** What was touched. */
  kind: 'manifest' | 'blob' | 'tag';
  /** Who did it, when an authorization hook established it. */
  actor?: Identity;
}

/** Listeners for registry events. Errors thrown by listeners are logged, never sent to clients. */
export interface RegistryEvents {
  onPush?(event: RegistryEvent): void | Promise<void>;
  onPull?(event: RegistryEvent): void | Promise<void>;
  onDelete?(event: RegistryEvent): void | Promise<void>;
}

/** Protocol settings the core obeys. */
export interface CoreSettings {
  deleteEnabled: boolean;
  readOnly: boolean;
  maxManifestSize: number;
  referrersEnabled: boolean;
  anonymousMount: boolean;
  /** Largest page of a referrers list; longer lists are paginated with Link. */
  referrersPageSize: number;
  /** Largest `n` honoured in tag and catalog listings. */
  maxPageSize: number;
  /** Largest total size of one upload, in bytes (413 past it). */
  maxUploadSize: number;
  /** Open upload sessions allowed in the whole registry (429 past it). */
  maxUploadSessions: number;
  /** Open upload sessions allowed in one repository (429 past it). */
  maxUploadSessionsPerRepository: number;
}

/** The state shared by core operations. */
export interface CoreContext {
  blobs: BlobStore;
  index: MetadataIndex;
  ledger: UploadLedger;
  settings: CoreSettings;
  events: RegistryEvents;
  /** Reports errors thrown by event listeners. */
  onListenerError(error: unknown): void;
  /** Serialises work on one upload session or one digest (across processes when the storage's locks do). */
  locks: Locks;
  /** Lifecycle hooks around manifest commits (quotas, push times); see {@link ManifestHooks}. */
  manifestHooks?: ManifestHooks;
}

/**
 * Hooks around manifest writes. `beforeCommit` and `afterCommit` run under the repository's manifest lock
 * (`manifestLockKey`), which retention also takes before each deletion, so a check and its commit are one step.
 */
export interface ManifestHooks {
  /** Throw (a RegistryError) to refuse the push; `blobs` are the blobs the manifest references with their sizes. */
  beforeCommit?(repository: string, record: ManifestRecord, blobs: { digest: Digest; size: number }[]): void | Promise<void>;
  /** After the commit: the manifest and the tags now pointing at it. */
  afterCommit?(repository: string, record: ManifestRecord, tags: string[], blobs: { digest: Digest; size: number }[]): void;
  /** After a tag or a manifest was deleted (a manifest delete also removed its tags). */
  afterDelete?(repository: string, kind: 'tag' | 'manifest', reference: string, record: ManifestRecord | undefined): void;
}

/** The lock a manifest commit in `repository` holds. */
export function manifestLockKey(repository: string): string {
  return `manifests:${repository}`;
}

/** Fires an event without letting a slow or failing listener affect the request. */
export function emit(ctx: CoreContext, name: keyof RegistryEvents, event: RegistryEvent): void {
  const listener = ctx.events[name];
  if (!listener) return;
  try {
    const actor = currentActor();
    const result = listener(actor ? { ...event, actor } : event);
    if (result instanceof Promise) result.catch((e) => ctx.onListenerError(e));
  } catch (e) {
    ctx.onListenerError(e);
  }
}
