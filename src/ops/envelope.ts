/**
 * Notification payloads in CNCF Distribution's envelope (`application/vnd.docker.distribution.events.v1+json`):
 * `{"events": [...]}`, each event with id, timestamp, action, target, source (and actor when known). Chosen over
 * CloudEvents because the receivers registry operators already run (Distribution/Docker registry notification
 * listeners, CI triggers, Harbor-era scripts) parse exactly this shape; a batch per POST also keeps delivery cheap.
 * Marina adds one action, `fill`, for content the pull-through mirror fetched from an upstream.
 */
import type { RegistryEvent } from '../core/context.ts';

/** Media type of an envelope. */
export const ENVELOPE_MEDIA_TYPE = 'application/vnd.docker.distribution.events.v1+json';

/** What happened. */
export type EventAction = 'push' | 'pull' | 'delete' | 'fill';

/** One event of the envelope. */
export interface NotificationEvent {
  id: string;
  timestamp: string;
  action: EventAction;
  target: {
    mediaType: string;
    size: number;
    length: number;
    digest: string;
    repository: string;
    url?: string;
    tag?: string;
    /** Marina: whether the target is a manifest, a blob or a tag. */
    kind: RegistryEvent['kind'];
  };
  actor?: { name: string };
  source: { addr: string; instanceID: string };
}

/** Where events come from: this server's address and a per-process id. */
export interface EventSource {
  addr: string;
  instanceID: string;
  /** Base URL for target URLs, e.g. `http://registry.example:5000`. */
  baseUrl?: string;
}

/** Builds an envelope event from a registry event. */
export function toNotification(action: EventAction, event: RegistryEvent, source: EventSource): NotificationEvent {
  const isTag = event.reference !== event.digest && !event.reference.includes(':');
  const path = event.kind === 'blob' ? 'blobs' : 'manifests';
  const target: NotificationEvent['target'] = {
    mediaType: event.mediaType,
    size: event.size,
    length: event.size,
    digest: event.digest,
    repository: event.repository,
    kind: event.kind,
  };
  if (source.baseUrl) target.url = `${source.baseUrl}/v2/${event.repository}/${path}/${event.digest}`;
  if (isTag) target.tag = event.reference;
  return {
    id: crypto.randomUUID(),
    timestamp: new Date().toISOString(),
    action,
    target,
    source: { addr: source.addr, instanceID: source.instanceID },
  };
}
