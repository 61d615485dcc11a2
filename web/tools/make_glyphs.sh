#!/bin/sh
# Regenerates the MapLibre SDF label glyphs in web/fonts/ from the Noto Sans
# fonts Debian ships (fonts-noto-core, SIL Open Font License 1.1).
#   usage: web/tools/make_glyphs.sh [build dir]   (default: build-glyphs)
# Needs cmake, a C++20 compiler, libfreetype-dev, libprotozero-dev, fonts-noto-core.
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-"$root/build-glyphs"}
noto=/usr/share/fonts/truetype/noto
out="$root/web/fonts"
# Latin-1, Latin Extended-A/B, IPA (ɛ ɔ ŋ ɲ of Bambara, Fulfulde, Songhay),
# combining marks and Greek, general punctuation (– ’ “ ”).
ranges="0-255 256-511 512-767 768-1023 8192-8447"

cmake -S "$root/web/tools" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target sitmap_make_glyphs -j2 >/dev/null

for style in Regular Bold; do
    font="$noto/NotoSans-$style.ttf"
    [ -r "$font" ] || { echo "missing $font (apt-get install fonts-noto-core)" >&2; exit 1; }
    rm -rf "$out/Noto Sans $style"
    # shellcheck disable=SC2086 # ranges is a word list on purpose
    "$build/sitmap_make_glyphs" "$font" "Noto Sans $style" "$out" $ranges
done
