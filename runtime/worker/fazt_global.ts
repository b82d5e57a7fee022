/**
 * The global `fazt` (the app's `ctx`, a global as in the original fazt). Kept
 * apart from `scope.ts` because its type reaches the storage calls, which
 * themselves post through `scope`.
 * @module
 */
import type { Fazt } from "./context.ts";
import { scope } from "./scope.ts";

/** The Worker's global scope with the app's `fazt`, set at init. */
export const faztGlobal: typeof scope & { fazt?: Fazt } = scope;
