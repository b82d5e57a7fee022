#!/bin/sh
# Installs fazt from a release: picks this machine's archive, checks that
# SHA256SUMS carries the fazt release key's signature (with openssl) and that
# the archive matches it, then unpacks it into PREFIX/lib/fazt and puts a
# PREFIX/bin/fazt that runs it. Run it again to upgrade; the previous
# install is kept as PREFIX/lib/fazt.old. Options: sh install.sh --help
set -eu

# The fazt release key (lib/release_key.ts as PEM; a test keeps them equal).
FAZT_RELEASE_KEY_PEM='-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEABZMQeTCUlpLvbvJ+/AQn4rS1v3K5NchteembrKU6wmQ=
-----END PUBLIC KEY-----'

# RFC 8032's second Ed25519 test vector: proves this openssl can verify.
SELFTEST_KEY_PEM='-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAPUAXw+hDiVqStwqnTRt+vJyYLM8uxJaMwM1V8Sr0Zgw=
-----END PUBLIC KEY-----'
SELFTEST_SIG='kqAJqfDUyrhyDoILX2QlQKKye1QWUD+Ps3YiI+vbadoIWsHkPhWZbkWPNhPQ8R2MOHsurrQwKu6wDSkWErsMAA=='

usage() {
  cat <<'USAGE'
sh install.sh --base-url URL [--prefix DIR] [--public-key FILE] [--target ID]

  --base-url URL     the folder holding SHA256SUMS, SHA256SUMS.sig and the
                     archives ($FAZT_RELEASE_URL); https:// (http:// only to
                     this machine)
  --prefix DIR       where to install ($FAZT_PREFIX, default $HOME/.local)
  --public-key FILE  verify with this Ed25519 public key (PEM) instead of the
                     fazt release key (self-built releases, tests)
  --target ID        linux-x64, linux-arm64, darwin-x64 or darwin-arm64
                     (default: this machine's)
  --skip-signature   only check the archive against SHA256SUMS, when this
                     machine's openssl cannot verify Ed25519 (not safe)
USAGE
}

die() {
  echo "install.sh: $*" >&2
  exit 1
}

say() {
  echo "install.sh: $*"
}

base_url=${FAZT_RELEASE_URL:-}
prefix=${FAZT_PREFIX:-${HOME:-}/.local}
key_file=
target=
skip_signature=
while [ $# -gt 0 ]; do
  case $1 in
    --base-url) [ $# -ge 2 ] || die "--base-url needs a URL"; base_url=$2; shift 2 ;;
    --prefix) [ $# -ge 2 ] || die "--prefix needs a folder"; prefix=$2; shift 2 ;;
    --public-key) [ $# -ge 2 ] || die "--public-key needs a file"; key_file=$2; shift 2 ;;
    --target) [ $# -ge 2 ] || die "--target needs an id"; target=$2; shift 2 ;;
    --skip-signature) skip_signature=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done

[ -n "$base_url" ] || die "no release location: pass --base-url URL (the folder with SHA256SUMS)"
case $base_url in
  https://*) ;;
  http://127.* | http://localhost[:/]* | http://localhost | http://\[::1\]*) ;;
  *) die "--base-url must use https:// (plain http:// only to this machine)" ;;
esac
base_url=${base_url%/}
[ -n "$prefix" ] || die "no prefix: pass --prefix DIR"
case $prefix in /*) ;; *) prefix=$(pwd)/$prefix ;; esac

if [ -z "$target" ]; then
  case $(uname -s) in
    Linux) os=linux ;;
    Darwin) os=darwin ;;
    MINGW* | MSYS* | CYGWIN* | Windows*)
      die "on Windows, download fazt-<version>-windows-x64.zip from $base_url and unpack it" ;;
    *) die "fazt is not released for $(uname -s)" ;;
  esac
  case $(uname -m) in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) die "fazt is not released for $(uname -m) processors" ;;
  esac
  if [ "$os" = linux ] && { ls /lib/ld-musl-* >/dev/null 2>&1 || ls /usr/lib/ld-musl-* >/dev/null 2>&1; }; then
    die "this Linux uses musl; fazt's Deno runtime needs glibc (on Alpine: apk add gcompat, then --target linux-$arch)"
  fi
  target=$os-$arch
fi
case $target in
  linux-x64 | linux-arm64 | darwin-x64 | darwin-arm64) ;;
  *) die "unknown target '$target'" ;;
esac

if command -v curl >/dev/null 2>&1; then
  fetch() { curl -fsSL --retry 2 -o "$2" "$1" || die "cannot download $1"; }
elif command -v wget >/dev/null 2>&1; then
  fetch() { wget -q -O "$2" "$1" || die "cannot download $1"; }
else
  die "neither curl nor wget is installed"
fi

if command -v sha256sum >/dev/null 2>&1; then
  sha256() { sha256sum "$1" | cut -d ' ' -f 1; }
elif command -v shasum >/dev/null 2>&1; then
  sha256() { shasum -a 256 "$1" | cut -d ' ' -f 1; }
elif command -v openssl >/dev/null 2>&1; then
  sha256() { openssl dgst -sha256 -r "$1" | cut -d ' ' -f 1; }
else
  die "no SHA-256 tool (sha256sum, shasum or openssl)"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fazt-install.XXXXXX") || die "cannot make a temporary folder"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

fetch "$base_url/SHA256SUMS" "$tmp/SHA256SUMS"

if [ -n "$skip_signature" ]; then
  say "warning: --skip-signature: SHA256SUMS is NOT checked against the release key"
else
  command -v openssl >/dev/null 2>&1 ||
    die "openssl is needed to check the release signature (or pass --skip-signature: not safe)"
  verify() { # key.pem message signature
    openssl pkeyutl -verify -pubin -inkey "$1" -rawin -in "$2" -sigfile "$3" >/dev/null 2>&1
  }
  printf '%s\n' "$SELFTEST_KEY_PEM" >"$tmp/selftest.pem"
  printf 'r' >"$tmp/selftest.msg"
  printf '%s' "$SELFTEST_SIG" | openssl base64 -d -A >"$tmp/selftest.sig" 2>/dev/null || true
  verify "$tmp/selftest.pem" "$tmp/selftest.msg" "$tmp/selftest.sig" ||
    die "this openssl cannot verify Ed25519 signatures (OpenSSL 3.0 or newer can); install it, or pass --skip-signature (not safe)"
  if [ -n "$key_file" ]; then
    cp "$key_file" "$tmp/release.pem" || die "cannot read $key_file"
  else
    printf '%s\n' "$FAZT_RELEASE_KEY_PEM" >"$tmp/release.pem"
  fi
  fetch "$base_url/SHA256SUMS.sig" "$tmp/SHA256SUMS.sig"
  verify "$tmp/release.pem" "$tmp/SHA256SUMS" "$tmp/SHA256SUMS.sig" ||
    die "SHA256SUMS does not carry a valid signature of the fazt release key: nothing installed"
fi

line=$(grep -E "^[0-9a-f]{64}  fazt-[0-9]+\.[0-9]+\.[0-9]+[^ /]*-$target\.tar\.gz\$" "$tmp/SHA256SUMS" | head -n 1)
[ -n "$line" ] || die "the release at $base_url has no archive for $target"
sum=${line%% *}
file=${line##* }
name=${file%.tar.gz}
version=${name#fazt-}
version=${version%-"$target"}

say "downloading $file"
fetch "$base_url/$file" "$tmp/$file"
[ "$(sha256 "$tmp/$file")" = "$sum" ] ||
  die "$file does not match its SHA-256 in SHA256SUMS: nothing installed"

mkdir "$tmp/unpack"
tar -xzf "$tmp/$file" -C "$tmp/unpack" || die "cannot unpack $file"
[ -x "$tmp/unpack/$name/fazt" ] && [ -x "$tmp/unpack/$name/deno" ] && [ -f "$tmp/unpack/$name/fazt.js" ] ||
  die "$file does not hold a fazt release"
reported=$("$tmp/unpack/$name/fazt" --version 2>/dev/null) || die "fazt $version does not run on this machine"
case $reported in
  "fazt $version "*) ;;
  *) die "the archive reports '$reported', not fazt $version" ;;
esac

mkdir -p "$prefix/lib" "$prefix/bin" || die "cannot write to $prefix"
lib=$prefix/lib/fazt
rm -rf "$lib.new" "$lib.old"
mv "$tmp/unpack/$name" "$lib.new"
if [ -e "$lib" ]; then mv "$lib" "$lib.old"; fi
mv "$lib.new" "$lib"
# A small script rather than a symlink: it needs no readlink, so it runs even
# with an empty PATH (a service manager's environment).
printf '#!/bin/sh\nexec "%s/fazt" "$@"\n' "$lib" >"$prefix/bin/fazt.new"
chmod 755 "$prefix/bin/fazt.new"
mv -f "$prefix/bin/fazt.new" "$prefix/bin/fazt"

say "installed fazt $version ($target) in $lib"
say "run: $prefix/bin/fazt server start"
case :${PATH:-}: in
  *:"$prefix/bin":*) ;;
  *) say "add $prefix/bin to your PATH to run it as 'fazt'" ;;
esac
