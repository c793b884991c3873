#!/usr/bin/env bash
# Refreshes the vendored JsSIP bundle from the npm registry (DESIGN.md:
# browser libraries are vendored as pinned files with their licence; running
# the switch never needs a build step or the network).
#
#   src/web/vendor/refresh-jssip.sh [VERSION]
#
# VERSION defaults to the version vendored now (the README's), so running
# the script with no argument rebuilds the committed bundle byte for byte.
# Needs node and npm (20 or newer) and curl, and the npm registry; nothing
# else on the machine changes (it works in a temporary directory).
#
# Steps:
#  1. ask the registry for jssip@VERSION's tarball URL and `dist.integrity`;
#     when VERSION is the one vendored now, the README's integrity must be
#     the same (a re-published tarball is refused);
#  2. download the tarball and check its SHA-512 against that integrity;
#  3. in a temporary directory, install that very tarball with the bundled
#     dependencies pinned below and esbuild (install scripts off; npm checks
#     each package's integrity against the registry);
#  4. bundle lib/JsSIP.js into one minified IIFE defining the global `JsSIP`
#     (the options of JsSIP's own `npm run build`), and check that every
#     bundled package is jssip or one of the pins (no nested copies);
#  5. write jssip-VERSION.min.js, JSSIP-LICENSE.md, THIRD-PARTY-LICENSES and
#     README.md here, remove other jssip-*.min.js, and point
#     src/web/mod.rs, src/web/softphone/index.html and src/web/desk/index.html
#     at the new file.
#
# Idempotent: a second run with the same inputs rewrites the same bytes (the
# README's date changes only when the bundle does).
set -euo pipefail

# The pinned build tool and the bundled dependencies (exact versions). When
# JsSIP's ranges move past them, step 4 fails: review and bump them here.
ESBUILD_VERSION=0.28.2
PINS=(debug@4.4.3 ms@2.1.3 events@3.3.0 sdp-transform@2.15.0)

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
web="$(dirname "$here")"
readme="$here/README.md"

current=""
current_integrity=""
if [[ -f "$readme" ]]; then
  current="$(sed -n 's/^- Version: `\(.*\)`$/\1/p' "$readme" | head -n1)"
  current_integrity="$(sed -n 's/^- Integrity: `\(.*\)`$/\1/p' "$readme" | head -n1)"
fi
version="${1:-${current:-3.13.8}}"
if [[ ! "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
  echo "refresh-jssip: VERSION must be x.y.z, not '$version'" >&2
  exit 2
fi
for tool in node npm curl; do
  command -v "$tool" >/dev/null || { echo "refresh-jssip: $tool is required" >&2; exit 2; }
done

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# 1. What the registry says.
tarball_url="$(npm view "jssip@$version" dist.tarball)"
integrity="$(npm view "jssip@$version" dist.integrity)"
if [[ -z "$tarball_url" || "$integrity" != sha512-* ]]; then
  echo "refresh-jssip: the registry has no jssip@$version with a sha512 integrity" >&2
  exit 1
fi
if [[ "$version" == "$current" && -n "$current_integrity" && "$integrity" != "$current_integrity" ]]; then
  echo "refresh-jssip: jssip@$version's integrity changed since it was vendored" >&2
  echo "  README:   $current_integrity" >&2
  echo "  registry: $integrity" >&2
  exit 1
fi

# 2. The tarball, checked.
tgz="$tmp/jssip-$version.tgz"
curl -fsSL "$tarball_url" -o "$tgz"
got="sha512-$(node -e 'const c=require("crypto");process.stdout.write(c.createHash("sha512").update(require("fs").readFileSync(process.argv[1])).digest("base64"))' "$tgz")"
if [[ "$got" != "$integrity" ]]; then
  echo "refresh-jssip: the tarball's SHA-512 does not match dist.integrity" >&2
  echo "  expected: $integrity" >&2
  echo "  got:      $got" >&2
  exit 1
fi

# 3. Install the checked tarball with the pins and esbuild.
build="$tmp/build"
mkdir -p "$build"
cp "$tgz" "$build/"
(
  cd "$build"
  echo '{"name":"jssip-vendor-build","private":true}' >package.json
  npm install --ignore-scripts --no-audit --no-fund --save-exact --loglevel=error \
    "./jssip-$version.tgz" "esbuild@$ESBUILD_VERSION" "${PINS[@]}" >/dev/null
)

# 4. Bundle (the options of JsSIP's npm-scripts.mjs `build`).
banner="/*! JsSIP $version (MIT, JSSIP-LICENSE.md) with ${PINS[*]} (MIT, THIRD-PARTY-LICENSES): jssip-$version.tgz from registry.npmjs.org, $integrity; bundled by src/web/vendor/refresh-jssip.sh with esbuild $ESBUILD_VERSION */"
out="$tmp/jssip-$version.min.js"
(
  cd "$build"
  node_modules/.bin/esbuild node_modules/jssip/lib/JsSIP.js \
    --bundle --minify --format=iife --global-name=JsSIP \
    --platform=browser --target=es2015 --supported:template-literal=false \
    --charset=ascii --legal-comments=eof \
    "--banner:js=$banner" \
    --metafile="$tmp/meta.json" --outfile="$out" --log-level=warning
)
node - "$tmp/meta.json" "${PINS[@]}" <<'JS'
const [meta, ...pins] = process.argv.slice(2);
const allowed = new Set(['jssip', ...pins.map((p) => p.replace(/@[^@]*$/, ''))]);
const bad = [];
const used = new Set();
for (const input of Object.keys(require(meta).inputs)) {
  const parts = input.split('node_modules/');
  if (parts.length !== 2) { bad.push(input); continue; }
  const name = parts[1].startsWith('@') ? parts[1].split('/').slice(0, 2).join('/') : parts[1].split('/')[0];
  if (!allowed.has(name)) bad.push(input);
  used.add(name);
}
if (bad.length) {
  console.error('refresh-jssip: unexpected files in the bundle (a pin no longer satisfies a range?):\n  ' + bad.join('\n  '));
  process.exit(1);
}
const unused = [...allowed].filter((n) => !used.has(n));
if (unused.length) {
  console.error('refresh-jssip: pinned but not bundled (drop the pin): ' + unused.join(', '));
  process.exit(1);
}
JS

# 5. Write the vendored files.
bundle="$here/jssip-$version.min.js"
date_line=""
if [[ -f "$bundle" && "$version" == "$current" ]] && cmp -s "$out" "$bundle"; then
  date_line="$(grep -m1 '^- Refreshed: ' "$readme" || true)"
fi
[[ -n "$date_line" ]] || date_line="- Refreshed: $(date -u +%Y-%m-%d)"

for old in "$here"/jssip-*.min.js; do
  [[ -e "$old" && "$old" != "$bundle" ]] && rm -f "$old"
done
cp "$out" "$bundle"
cp "$build/node_modules/jssip/LICENSE.md" "$here/JSSIP-LICENSE.md"

{
  echo "Licences of the packages bundled into jssip-$version.min.js besides"
  echo "JsSIP itself (whose licence is JSSIP-LICENSE.md). Each is copied from"
  echo "the package's npm tarball by refresh-jssip.sh."
  for pin in "${PINS[@]}"; do
    name="${pin%@*}"
    dir="$build/node_modules/$name"
    lic="$(node -p "require('$dir/package.json').license")"
    file="$(cd "$dir" && ls | grep -i -m1 -E '^licen[cs]e')"
    echo
    echo "================================================================"
    echo "$pin ($lic), $(node -p "require('$build/package-lock.json').packages['node_modules/$name'].integrity")"
    echo "================================================================"
    echo
    cat "$dir/$file"
  done
} >"$here/THIRD-PARTY-LICENSES"

lock_line() {
  node -p "const p=require('$build/package-lock.json').packages['node_modules/$1']; '| \`$1\` | ' + p.version + ' | ' + require('$build/node_modules/$1/package.json').license + ' | \`' + p.integrity + '\` |'"
}
{
  echo "# Vendored browser libraries"
  echo
  echo "Written by \`refresh-jssip.sh\`; do not edit by hand. The switch serves"
  echo "these files from the binary (\`src/web/mod.rs\`); running it needs no"
  echo "build step and no network."
  echo
  echo "## JsSIP"
  echo
  echo "- Version: \`$version\`"
  echo "- File: \`jssip-$version.min.js\` (one minified IIFE defining the global \`JsSIP\`)"
  echo "- Tarball: $tarball_url"
  echo "- Integrity: \`$integrity\`"
  echo "- Licence: MIT (\`JSSIP-LICENSE.md\`); bundled packages in \`THIRD-PARTY-LICENSES\`"
  echo "- Bundler: esbuild \`$ESBUILD_VERSION\` (options of JsSIP's own \`npm run build\`)"
  echo "$date_line"
  echo
  echo "Bundled with it (exact versions pinned in the script, integrity from npm's lock):"
  echo
  echo "| package | version | licence | integrity |"
  echo "|---|---|---|---|"
  for pin in "${PINS[@]}"; do lock_line "${pin%@*}"; done
  echo
  echo "## Refresh"
  echo
  echo "Needs node and npm 20+, curl and the npm registry (not needed to build or run the switch):"
  echo
  echo '```sh'
  echo "src/web/vendor/refresh-jssip.sh $version    # or a newer version; no argument = the vendored one"
  echo '```'
  echo
  echo "It checks the tarball's SHA-512 against the registry's \`dist.integrity\`"
  echo "(and, for the vendored version, against the one above), bundles it with"
  echo "the pinned packages and esbuild, rewrites these files and points"
  echo "\`src/web/mod.rs\` and \`src/web/softphone/index.html\` at the new file."
  echo "Then run \`cargo test --lib web\` and \`cargo test --test e2e_softphone_page\`."
} >"$readme"

# Point the code and the page at the file.
sed -i -E "/macro_rules! jssip_version/,/^}/ s/\"[0-9]+\.[0-9]+\.[0-9]+\"/\"$version\"/" "$web/mod.rs"
sed -i -E "s#vendor/jssip-[0-9.]+\.min\.js#vendor/jssip-$version.min.js#g" "$web/softphone/index.html" "$web/desk/index.html"

echo "refresh-jssip: vendored jssip@$version ($integrity), $(wc -c <"$bundle") bytes"
