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

/**
 * Orders two versions (`-1`, `0`, `1`) by major, minor, patch; a pre-release
 * (`1.2.3-rc.1`) comes before its release. Not a version counts as oldest.
 */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string) => {
    const m = /^v?(\d+)\.(\d+)\.(\d+)(-[^+]*)?/.exec(v.trim());
    return m ? [Number(m[1]), Number(m[2]), Number(m[3]), m[4] ? 0 : 1] : [-1, -1, -1, -1];
  };
  const [pa, pb] = [parse(a), parse(b)];
  for (let i = 0; i < 4; i++) if (pa[i] !== pb[i]) return pa[i] < pb[i] ? -1 : 1;
  return 0;
}
