/**
 * Request bodies with deadlines. Bun's own idle timer is no body deadline: while a body arrives it is pushed back
 * only after ~160 KiB, so an honest client sending under ~16 KiB/s is cut, yet with the timer off (as upload steps
 * need, see {@link isUploadRequest}) a client sending a byte now and then would hold the request forever. So Marina
 * reads upload bodies itself: silence longer than the idle timeout, or fewer bytes per window than the minimum
 * rate, ends the body with 408.
 */
import { RegistryError } from '../errors.ts';

/** When a body counts as stalled. */
export interface BodyDeadline {
  /** Longest silence between two chunks, and the window over which the rate is measured, in ms. */
  idleMs: number;
  /** Fewest bytes per second a body must average over each window; 0 checks silence only. */
  minBytesPerSecond: number;
}

/**
 * `body`, failing with BLOB_UPLOAD_INVALID (status 408) when it stalls per `deadline`. Clocks start at the first
 * read, so time spent waiting for the session's lock does not count. The source is cancelled on failure, which
 * releases the connection; the consumer rolls back its earlier chunks as for any failed body.
 */
export function withBodyDeadline(body: ReadableStream<Uint8Array>, deadline: BodyDeadline): ReadableStream<Uint8Array> {
  const { idleMs, minBytesPerSecond } = deadline;
  if (!(idleMs > 0) || !Number.isFinite(idleMs)) return body;
  const reader = body.getReader();
  const minBytesPerWindow = Math.ceil((minBytesPerSecond * idleMs) / 1000);
  let inWindow = 0;
  let failure: RegistryError | undefined;
  let interrupt: ((error: Error) => void) | undefined;
  let window: ReturnType<typeof setInterval> | undefined;
  const fail = (error: RegistryError) => {
    failure ??= error;
    clearInterval(window);
    reader.cancel(error).catch(() => undefined);
    interrupt?.(error);
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (minBytesPerWindow > 0 && window === undefined) {
          window = setInterval(() => {
            if (inWindow < minBytesPerWindow) fail(stalled(`the body sent ${inWindow} bytes in ${seconds(idleMs)} s, under the minimum of ${minBytesPerSecond} bytes/s`, deadline));
            inWindow = 0;
          }, idleMs);
        }
        let idle: ReturnType<typeof setTimeout> | undefined;
        try {
          const next = await new Promise<Awaited<ReturnType<typeof reader.read>>>((resolve, reject) => {
            interrupt = reject;
            idle = setTimeout(() => fail(stalled(`no body bytes arrived for ${seconds(idleMs)} s`, deadline)), idleMs);
            reader.read().then(resolve, reject);
          });
          if (failure) throw failure;
          if (next.done) {
            clearInterval(window);
            controller.close();
          } else {
            inWindow += next.value.byteLength;
            controller.enqueue(next.value);
          }
        } catch (error) {
          clearInterval(window);
          controller.error(failure ?? error);
        } finally {
          clearTimeout(idle);
          interrupt = undefined;
        }
      },
      cancel(reason) {
        clearInterval(window);
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * Whether a request is an upload step (POST, PATCH or PUT under `/blobs/uploads/`): those stream a body at the
 * client's pace and may then hash and fsync a large blob, so the host must not apply its connection idle timer
 * while they run; {@link withBodyDeadline} bounds their bodies instead.
 */
export function isUploadRequest(method: string, url: string): boolean {
  return (method === 'PATCH' || method === 'PUT' || method === 'POST') && url.includes('/blobs/uploads/');
}

function seconds(ms: number): number {
  return +(ms / 1000).toFixed(3);
}

function stalled(why: string, deadline: BodyDeadline): RegistryError {
  return new RegistryError('BLOB_UPLOAD_INVALID', `${why}; the chunk was dropped and the upload is as it was before it`, {
    status: 408,
    detail: { idleTimeoutSeconds: seconds(deadline.idleMs), minBytesPerSecond: deadline.minBytesPerSecond },
  });
}
