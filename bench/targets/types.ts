/** What the runner needs from a benchmark target: a server it can seed, start, stop and clean up after. */
import type { DataSet } from '../data/dataset.ts';

/** Capabilities a scenario may require; a target without one is reported as "not supported". */
export type Feature = 'blob-get' | 'range' | 'manifest' | 'push' | 'image-push' | 'tags' | 'referrers' | 'cold-start';

/** How a target relates to Marina in the report. */
export type Role = 'subject' | 'peer' | 'limit';

/** A server under test. */
export interface Target {
  /** Stable id used in JSON and on the command line (`marina`, `dist2`, `dist3`, `limit`). */
  readonly id: string;
  /** Name in tables and charts. */
  readonly label: string;
  readonly role: Role;
  /** Version string as the program reports it. */
  readonly version: string;
  /** Facts a reader needs to interpret the numbers (durability, config). */
  readonly notes: string[];
  readonly features: ReadonlySet<Feature>;
  /** `http://127.0.0.1:<port>` once started. */
  readonly baseUrl: string;
  /** Headers every request must carry (credentials of a remote registry); empty for local targets. */
  readonly headers: Record<string, string>;
  /** pid of the running server; 0 when stopped or not local. */
  readonly pid: number;
  /** Writes the data set into the target's store. Runs before the first start. */
  seed(data: DataSet): Promise<void>;
  /** Starts the server pinned to the server cores; resolves with milliseconds from spawn to the first 200 on /v2/. */
  start(): Promise<number>;
  /** Stops the server (bounded wait). */
  stop(): Promise<void>;
  /** Deletes pushed blobs from the store, so repeated pushes keep disk use bounded. */
  forgetBlobs(digests: string[]): void;
  /** Deletes unfinished uploads (left by loads aborted at their time cap). */
  forgetUploads(): void;
  /** Refreshes `headers` (e.g. a Bearer token about to expire) before a measurement. */
  refreshAuth?(): Promise<void>;
}
