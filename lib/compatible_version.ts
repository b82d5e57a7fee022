/**
 * The compatibility rule between fazt nodes and CLIs: two versions work
 * together when their major and minor numbers are equal (`0.1.0` and
 * `0.1.7` do; `0.1.0` and `0.2.0` do not). Patch releases never change the
 * HTTP API; a minor or major release may.
 */
export function isCompatibleVersion(a: string, b: string): boolean {
  const pa = majorMinor(a);
  const pb = majorMinor(b);
  return pa !== undefined && pa === pb;
}

/** `"1.2"` for `"1.2.3"`, `"v1.2.3-rc.1"`; `undefined` when it is not a version. */
export function majorMinor(version: string): string | undefined {
  const m = /^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+].*)?$/.exec(version.trim());
  return m ? `${Number(m[1])}.${Number(m[2])}` : undefined;
}
