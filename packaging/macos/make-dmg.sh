#!/bin/sh
# macOS step of build_installer.py: turn the CIK-eCRF.app PyInstaller made into a compressed disk image.
# Usage: make-dmg.sh APP DMG VERSION [CODESIGN_IDENTITY]
#   With an identity ("Developer ID Application: ..."), the .app is signed with the hardened runtime and
#   the .dmg is signed too. Notarisation needs Apple credentials and is done by hand afterwards:
#     xcrun notarytool submit DMG --keychain-profile PROFILE --wait && xcrun stapler staple DMG
set -eu
app=$1
dmg=$2
version=$3
identity=${4:-}

if [ -n "$identity" ]; then
  codesign --force --deep --options runtime --timestamp --sign "$identity" "$app"
  codesign --verify --deep --strict "$app"
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp -R "$app" "$stage/"
ln -s /Applications "$stage/Applications"   # drag-to-install
rm -f "$dmg"
hdiutil create -volname "CIK-eCRF $version" -srcfolder "$stage" -fs HFS+ -format UDZO -ov "$dmg"

if [ -n "$identity" ]; then
  codesign --force --timestamp --sign "$identity" "$dmg"
fi
# Check it the way IT will: the program inside the image runs its self-test.
"$app/Contents/MacOS/cik-ecrf" --self-test
