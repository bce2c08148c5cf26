#!/usr/bin/env bash
# The publisher flow on a real model, with the real CLI, on local defaults.
# Run through `make demo`, which installs everything first. Usage: scripts/demo.sh MODEL.gguf
set -euo pipefail

MODEL=${1:?usage: scripts/demo.sh MODEL.gguf}
DATA=${MODELSEAL_HOME:-.modelseal}
WORK="$DATA/demo"
export MODELSEAL_KEYS="$DATA/demo-keys"   # demo keys stay in the data folder, not in ~/.config
mkdir -p "$WORK"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. a publisher key (did:key, Ed25519) in the demo keystore $MODELSEAL_KEYS"
if modelseal keys --json | grep -q '"name": "demo-publisher"'; then
  echo "reusing key demo-publisher"
else
  modelseal keygen --name demo-publisher
fi
modelseal keys

step "2. hash the SmolLM2 weights (BLAKE3, the value b3sum prints)"
modelseal hash "$MODEL"
if command -v b3sum >/dev/null; then echo "b3sum says: $(b3sum "$MODEL")"; fi

step "3. write the release manifest"
modelseal manifest create "$MODEL" --namespace smollm --model smollm2-135m-instruct --version 1.0.0 \
  --key demo-publisher --license Apache-2.0 -o "$WORK/manifest.json" --force

step "4. sign it (W3C Data Integrity, eddsa-jcs-2022)"
modelseal sign "$WORK/manifest.json" --key demo-publisher

step "5. verify the signature and re-hash the model against the manifest"
modelseal verify-manifest "$WORK/manifest.json" --model "$MODEL"

step "6. a copy with one byte changed must fail"
cp "$MODEL" "$WORK/tampered.gguf"
printf '\x01' | dd of="$WORK/tampered.gguf" bs=1 seek=5000000 count=1 conv=notrunc status=none
if modelseal verify-manifest "$WORK/manifest.json" --model "$WORK/tampered.gguf"; then
  echo "BUG: a tampered model verified" >&2; exit 1
else
  echo "refused as expected (exit status $?)"
fi
rm -f "$WORK/tampered.gguf"

step "done"
echo "signed manifest: $WORK/manifest.json"
echo "weights digest:  $(modelseal hash "$MODEL" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["weights"])')"
