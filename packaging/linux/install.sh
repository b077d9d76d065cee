#!/bin/sh
# Add EXAONE Desktop to this user's application menu (run from the unpacked bundle folder).
# Undo: rm ~/.local/share/applications/exaone-desktop.desktop ~/.local/share/icons/hicolor/*/apps/exaone-desktop.png
set -eu
here=$(cd "$(dirname "$0")" && pwd)
data="${XDG_DATA_HOME:-$HOME/.local/share}"
mkdir -p "$data/applications"
for icon in "$here"/share/icons/hicolor/*/apps/exaone-desktop.png; do
    size=$(basename "$(dirname "$(dirname "$icon")")")
    mkdir -p "$data/icons/hicolor/$size/apps"
    cp "$icon" "$data/icons/hicolor/$size/apps/"
done
sed "s|^Exec=.*|Exec=\"$here/exaone-desktop\"|" "$here/exaone-desktop.desktop" > "$data/applications/exaone-desktop.desktop"
chmod +x "$data/applications/exaone-desktop.desktop"
command -v update-desktop-database >/dev/null && update-desktop-database "$data/applications" || true
echo "EXAONE Desktop added to the application menu (launcher: $data/applications/exaone-desktop.desktop)"
