/**
 * The public half of the key fazt's releases are signed with (Ed25519, hex).
 * A node takes a release from a feed only when its signature verifies with
 * this key, or with the `release_public_key` setting, which only the node's
 * own machine can change (`fazt server config`), for self-built releases and
 * tests. `install.sh` carries the same key as PEM; a test keeps them equal.
 * The private half never enters the repository: the release task reads it
 * from `FAZT_RELEASE_KEY`.
 */
export const RELEASE_PUBLIC_KEY =
  "0593107930949692ef6ef27efc0427e2b4b5bf72b935c86d79e99baca53ac264";
