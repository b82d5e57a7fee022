import { brotliCompressSync, constants, gzipSync } from "node:zlib";

// Variants are made once per distinct content at deploy time and served many
// times, so small files get the slowest, smallest settings; big ones get
// settings that keep deploys fast.
const LARGE = 512 * 1024;

/** gzip and brotli variants of `data`, each kept only if it saves ≥ 10 %. */
export function precompress(data: Uint8Array): { gzip?: Uint8Array; br?: Uint8Array } {
  if (data.byteLength < 256) return {};
  const large = data.byteLength > LARGE;
  const gzip = gzipSync(data, { level: large ? 6 : 9 });
  const br = brotliCompressSync(data, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: large ? 5 : 11,
      [constants.BROTLI_PARAM_SIZE_HINT]: data.byteLength,
    },
  });
  const worth = (v: Uint8Array) => v.byteLength <= data.byteLength * 0.9;
  return {
    gzip: worth(gzip) ? new Uint8Array(gzip) : undefined,
    br: worth(br) ? new Uint8Array(br) : undefined,
  };
}
