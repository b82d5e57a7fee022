/**
 * The JSON meta of frames, typed by frame type and direction (the shapes
 * are `UpMeta` and `DownMeta` in `runtime/protocol.ts`). Up is to the
 * server, from a Worker or a host; down is from the server. Each function
 * is one `JSON.stringify` or `JSON.parse` and nothing else: the types cost
 * nothing per frame. What the server parses is only what the sender
 * claims (`Claimed`): app code can write anything to its connection.
 * @module
 */
import type { Claimed, DownMeta, UpMeta } from "../protocol.ts";
import type { JsonMeta } from "./frames.ts";

/** A frame type sent up whose meta is JSON. */
export type UpType = keyof UpMeta;

/** A frame type sent down whose meta is JSON. */
export type DownType = keyof DownMeta;

/** Encodes the meta of a frame sent to the server. */
export function encodeUp<T extends UpType>(_type: T, meta: UpMeta[T]): JsonMeta<T> {
  return JSON.stringify(meta) as JsonMeta<T>;
}

/** Reads the meta of a frame sent to the server: throws on text that is not JSON. */
export function parseUp<T extends UpType>(_type: T, meta: string): Claimed<UpMeta[T]> {
  return JSON.parse(meta);
}

/** Encodes the meta of a frame the server sends. */
export function encodeDown<T extends DownType>(_type: T, meta: DownMeta[T]): JsonMeta<T> {
  return JSON.stringify(meta) as JsonMeta<T>;
}

/** Reads the meta of a frame the server sent (the server is trusted). */
export function parseDown<T extends DownType>(_type: T, meta: string): DownMeta[T] {
  return JSON.parse(meta);
}
