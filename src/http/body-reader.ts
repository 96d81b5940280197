/**
 * Request bodies with an idle deadline. Bun's own idle timer is no body deadline: while a body arrives it is only
 * pushed back after ~160 KiB, so an honest client sending under ~16 KiB/s is cut, yet with the timer off (as upload
 * requests need, see `holdsBunTimer`) a client sending 1 byte a minute holds the request forever. Marina reads
 * upload bodies itself and gives up when no byte came for `idleMs`.
 */
import { RegistryError } from '../errors.ts';

/**
 * `body`, failing with BLOB_UPLOAD_INVALID (status 408) when no chunk arrives for `idleMs`. The source is cancelled
 * then, so the connection is released; whatever consumed the earlier chunks rolls back as it does for any failed body.
 */
export function withIdleDeadline(body: ReadableStream<Uint8Array>, idleMs: number): ReadableStream<Uint8Array> {
  if (!(idleMs > 0) || !Number.isFinite(idleMs)) return body;
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const idle = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(idleError(idleMs)), idleMs);
        });
        try {
          const next = await Promise.race([reader.read(), idle]);
          if (next.done) controller.close();
          else controller.enqueue(next.value);
        } catch (error) {
          reader.cancel(error).catch(() => undefined);
          controller.error(error);
        } finally {
          clearTimeout(timer);
        }
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * Whether a request is an upload step (POST, PATCH or PUT under `/blobs/uploads/`): those stream a body at the
 * client's pace and may then hash and fsync a large blob, so the host must not apply its connection idle timer
 * while they run; the body's own deadline ({@link withIdleDeadline}) bounds them instead.
 */
export function isUploadRequest(method: string, url: string): boolean {
  return (method === 'PATCH' || method === 'PUT' || method === 'POST') && url.includes('/blobs/uploads/');
}

function idleError(idleMs: number): RegistryError {
  const seconds = +(idleMs / 1000).toFixed(3);
  return new RegistryError('BLOB_UPLOAD_INVALID', `no body bytes arrived for ${seconds} s; the chunk was dropped, the upload is as it was before it`, {
    status: 408,
    detail: { idleTimeoutSeconds: seconds },
  });
}
