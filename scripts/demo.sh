#!/usr/bin/env bash
# modelseal end to end on a real model, with the real CLI and a real local chain.
# Run through `make demo`, which installs everything first. Usage: scripts/demo.sh MODEL.gguf
# Idempotent: the dev chain keeps its state in the data folder, so a second run reuses the
# namespace and release it finds instead of publishing them again.
set -euo pipefail

MODEL=${1:?usage: scripts/demo.sh MODEL.gguf}
DATA=${MODELSEAL_HOME:-.modelseal}
WORK="$DATA/demo"
export MODELSEAL_KEYS="$DATA/demo-keys"   # demo keys stay in the data folder, not in ~/.config
NS=smollm
REL="$NS/smollm2-135m-instruct/1.0.0"
mkdir -p "$WORK"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
expect_status() {  # expect_status N command...: run, show output, require exit status N
  local want=$1; shift
  set +e; "$@"; local got=$?; set -e
  if [ "$got" != "$want" ]; then echo "demo: expected exit status $want from '$*', got $got" >&2; exit 1; fi
  echo "(exit status $got, as expected)"
}
key() { modelseal keys --json | grep -q "\"name\": \"$1\"" || modelseal keygen --name "$1" --no-passphrase >/dev/null; }

step "1. keys: a publisher (did:key, Ed25519) and an operator, in $MODELSEAL_KEYS"
key demo-publisher; key demo-operator
modelseal keys

step "2. hash the SmolLM2 weights (BLAKE3, the value b3sum prints)"
modelseal hash "$MODEL"
if command -v b3sum >/dev/null; then echo "b3sum says: $(b3sum "$MODEL")"; fi

step "3. offline: write, sign and verify a manifest (W3C Data Integrity, eddsa-jcs-2022)"
modelseal manifest create "$MODEL" --namespace "$NS" --model smollm2-135m-instruct --version 1.0.0 \
  --key demo-publisher --license Apache-2.0 -o "$WORK/manifest.json" --force
modelseal sign "$WORK/manifest.json" --key demo-publisher
modelseal verify-manifest "$WORK/manifest.json" --model "$MODEL"

step "4. the local chain: anvil on 127.0.0.1, state in $DATA/chain, registry deployed once"
modelseal chain up

step "5. claim the namespace '$NS' and register the publisher key as its signer"
if modelseal namespace claim "$NS" 2>"$WORK/claim.err"; then
  modelseal signer add "$NS" --key demo-publisher
else
  echo "(already claimed on this chain: $(head -1 "$WORK/claim.err"))"
fi

step "6. publish $REL: hash -> manifest -> sign -> signer check -> anchor"
if modelseal show "$REL" >/dev/null 2>&1; then
  echo "(already published on this chain)"
else
  modelseal publish "$MODEL" --namespace "$NS" --model smollm2-135m-instruct --version 1.0.0 \
    --key demo-publisher --license Apache-2.0
fi

step "7. authorise the operator key to serve every version of the model for 90 days"
modelseal operator authorize "$NS/smollm2-135m-instruct" --key demo-operator --expires 90d

step "8. read the release back from the chain"
modelseal show "$REL"

step "9. a client checks the file it downloaded: which release is it?"
expect_status 0 modelseal verify "$MODEL"

step "10. a copy with one byte changed (at a random place) is not a registered release"
cp "$MODEL" "$WORK/tampered.gguf"
head -c 1 /dev/urandom | dd of="$WORK/tampered.gguf" bs=1 seek=$((RANDOM * 2000 + 1000)) count=1 conv=notrunc status=none
cmp -s "$MODEL" "$WORK/tampered.gguf" && printf '\xff' | dd of="$WORK/tampered.gguf" bs=1 seek=1000 count=1 conv=notrunc status=none
expect_status 10 modelseal verify "$WORK/tampered.gguf"

step "11. a release its publisher revoked says so"
cp "$MODEL" "$WORK/tampered.gguf"
printf '\x01' | dd of="$WORK/tampered.gguf" bs=1 seek=5000000 count=1 conv=notrunc status=none
if ! modelseal show "$NS/smollm2-135m-instruct/1.0.0-rc1" >/dev/null 2>&1; then
  modelseal publish "$WORK/tampered.gguf" --namespace "$NS" --model smollm2-135m-instruct --version 1.0.0-rc1 \
    --key demo-publisher >/dev/null
  modelseal revoke "$NS/smollm2-135m-instruct/1.0.0-rc1" --reason "demo: a pre-release withdrawn by its publisher" --yes
fi
expect_status 11 modelseal verify "$WORK/tampered.gguf"
rm -f "$WORK/tampered.gguf"

step "12. the verifier service: index the chain, serve the REST API and the web page"
PIDFILE="$DATA/verifier.pid"
if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then kill "$(cat "$PIDFILE")"; sleep 1; fi
# the demo's chatbots run on 127.0.0.1, so this verifier may contact loopback targets
MODELSEAL_ALLOW_LOOPBACK_TARGETS=1 nohup modelseal verifier serve --port 8000 >"$DATA/verifier.log" 2>&1 &
echo $! >"$PIDFILE"
for _ in $(seq 1 100); do
  if python3 -c 'import json,sys,urllib.request; h=json.load(urllib.request.urlopen("http://127.0.0.1:8000/v1/health")); sys.exit(0 if h["chain"] and h["chain"]["behind"]==0 else 1)' 2>/dev/null; then break; fi
  sleep 0.2
done
python3 -c 'import json,urllib.request; print(json.dumps(json.load(urllib.request.urlopen("http://127.0.0.1:8000/v1/health")), indent=2))'

step "13. upload the signed manifest to the verifier (accepted because its digest is anchored)"
MANIFEST=$(ls -t "$DATA"/manifests/*.json | while read -r f; do grep -q '"version": "1.0.0"' "$f" && echo "$f" && break; done)
python3 - "$MANIFEST" <<'PY'
import json, sys, urllib.request
doc = open(sys.argv[1]).read().encode()
req = urllib.request.Request("http://127.0.0.1:8000/v1/manifests", data=doc, headers={"Content-Type": "application/json"})
print("upload:", json.load(urllib.request.urlopen(req)))
PY

step "14. the monitor feed a publisher follows (modelseal watch --namespace $NS)"
modelseal watch --namespace "$NS" --once | tail -n 8

step "15. three chatbots on SmolLM2 (llama.cpp) and a relay in front of one, checked through the verifier"
background() {  # background NAME PORT command...: (re)start a server, wait for it
  local name=$1 port=$2; shift 2
  local pidfile="$DATA/$name.pid"
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then kill "$(cat "$pidfile")"; sleep 1; fi
  nohup "$@" >"$DATA/$name.log" 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 1 150); do
    curl -s -o /dev/null "http://127.0.0.1:$port/v1/models" && return 0
    sleep 0.2
  done
  echo "demo: $name did not start; see $DATA/$name.log" >&2; exit 1
}
check() {  # check URL: the app-store question, one line per check
  python3 - "$1" "$REL" <<'PY'
import json, sys, urllib.parse, urllib.request
q = urllib.parse.urlencode({"url": sys.argv[1], "release": sys.argv[2]})
v = json.load(urllib.request.urlopen(f"http://127.0.0.1:8000/v1/check?{q}", timeout=120))
print(f"verdict: {v['verdict'].upper()}")
for c in v["checks"]:
    print(f"  {c['status']:5} {c['name']}: {c['detail']}")
PY
}
echo "-- the real deployment: the operator key the publisher authorised"
background chatbot-honest 8081 modelseal serve "$MODEL" --release "$REL" --key demo-operator --port 8081
check http://127.0.0.1:8081
echo
echo "-- an impostor claiming the same release with a key nobody authorised"
key demo-impostor
background chatbot-impostor 8082 modelseal serve "$MODEL" --release "$REL" --key demo-impostor --port 8082 --unsafe-dev
check http://127.0.0.1:8082
echo
echo "-- a fake 'official' site: a plain reverse proxy relaying every byte to the real deployment (no key)"
background chatbot-relay 8085 python scripts/relay.py http://127.0.0.1:8081 8085
check http://127.0.0.1:8085
echo
echo "-- a chatbot that says nothing about itself (plain llama.cpp server)"
background chatbot-plain 8083 python -m llama_cpp.server --model "$MODEL" --host 127.0.0.1 --port 8083 \
  --n_threads 1 --n_threads_batch 1
check http://127.0.0.1:8083

step "16. behaviour: an operator with a VALID key serving MODIFIED weights, caught by replaying fresh prompts"
modelseal reference add "$MODEL"   # the verifier's reference weights (used only if the BLAKE3 equals the chain's)
if [ ! -f "$WORK/impostor-noise.gguf" ]; then
  python -c "from pathlib import Path; from tools.impostors import make_impostor; \
print(make_impostor(Path('$MODEL'), Path('$WORK/impostor-noise.gguf'), 'tensor-noise').detail)"
fi
background chatbot-cheat 8084 python scripts/impostor_chatbot.py "$WORK/impostor-noise.gguf" "$MODEL" "$REL" demo-operator 8084
echo "-- identity alone: the cheat holds an authorised key and claims the registered weights"
check http://127.0.0.1:8084
echo
echo "-- with the behavioural check (fresh prompts, temperature 0, replayed on the registered weights)"
set +e
modelseal check http://127.0.0.1:8081 --release "$REL" --allow-loopback --behaviour | grep -E "^(verified|mismatch|unverified|revoked)|behaviour"
modelseal check http://127.0.0.1:8084 --release "$REL" --allow-loopback --behaviour | grep -E "^(verified|mismatch|unverified|revoked)|behaviour"
set -e

step "done: the verifier, four chatbots and a relay are running"
echo "weights digest:  $(modelseal hash "$MODEL" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["weights"])')"
echo "try:"
echo "  http://127.0.0.1:8000/                                        the web page: search, releases, check a chatbot URL"
echo "  http://127.0.0.1:8000/check?url=http://127.0.0.1:8081&release=$REL"
echo "  http://127.0.0.1:8000/r/$REL"
echo "  http://127.0.0.1:8000/v1/check?url=http://127.0.0.1:8082&release=$REL"
echo "  http://127.0.0.1:8000/v1/weights/5f4fa13bfc6dd4a91fd00e22974a9c4e9ed628fd7d7f307398ddf30260d6b2c3"
echo "  http://127.0.0.1:8000/v1/namespaces/smol-lm/confusables     look-alike warning"
echo "  http://127.0.0.1:8000/docs                                    OpenAPI"
echo "  modelseal check http://127.0.0.1:8081 --allow-loopback      the same check from the CLI, straight against the chain"
echo "stop:  for f in $DATA/*.pid; do kill \$(cat \$f); done; .venv/bin/modelseal chain down   (chain state is kept)"
