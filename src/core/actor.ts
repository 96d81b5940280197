/**
 * Who is acting: the identity an authorization hook established for the request being served, carried to event
 * listeners without threading it through every core call.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** Who made a request. Never holds a secret. */
export interface Identity {
  /** User name, token subject, or `anonymous`. */
  subject: string;
  groups?: string[];
  /** How the identity was established. */
  via?: 'anonymous' | 'basic' | 'token' | 'oidc';
}

const current = new AsyncLocalStorage<Identity>();

/** Runs `work` with `identity` as the actor of any events it emits. */
export function actingAs<T>(identity: Identity | undefined, work: () => T): T {
  return identity ? current.run(identity, work) : work();
}

/** The actor of the work in progress, if an authorization hook named one. */
export function currentActor(): Identity | undefined {
  return current.getStore();
}
