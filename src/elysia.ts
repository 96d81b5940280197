/** `marina/elysia`: mount a Marina registry in an Elysia app. Re-exports only. */
export { registryPlugin } from './http/plugin.ts';
export { createRegistry, type Registry } from './registry.ts';
