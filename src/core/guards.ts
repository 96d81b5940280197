/** Checks shared by operations that change the registry. */
import { RegistryError } from '../errors.ts';
import type { CoreContext } from './context.ts';

/** @throws RegistryError UNSUPPORTED when the registry is read-only. */
export function assertWritable(ctx: CoreContext): void {
  if (ctx.settings.readOnly) throw new RegistryError('UNSUPPORTED', 'the registry is read-only');
}

/** @throws RegistryError UNSUPPORTED when deletes are switched off (or the registry is read-only). */
export function assertDeletable(ctx: CoreContext): void {
  assertWritable(ctx);
  if (!ctx.settings.deleteEnabled) throw new RegistryError('UNSUPPORTED', 'deletes are disabled on this registry');
}
