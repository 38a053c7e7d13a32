#!/usr/bin/env bash
# Regenerates the signed-release wire fixtures (../wire/root-v1.json, root-v2.json,
# release-v1.json) from the TEST-ONLY keys in this directory, with the openssl CLI.
# Ed25519 signatures are deterministic, so running this again yields byte-identical files.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
WIRE=../wire
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

raw_public_b64() { openssl pkey -in "$1.pem" -pubout -outform DER | tail -c 32 | base64 -w0; }
key_id() { openssl pkey -in "$1.pem" -pubout -outform DER | tail -c 32 | sha256sum | cut -d' ' -f1; }
sign_b64() { openssl pkeyutl -sign -rawin -inkey "$1.pem" -in "$2" | base64 -w0; }

# envelope PAYLOAD_FILE KEY... : the envelope JSON on stdout, one signature per key, in order.
envelope() {
    local payload="$1"; shift
    local signatures="" key
    for key in "$@"; do
        [ -n "$signatures" ] && signatures+=","
        signatures+="{\"key_id\":\"$(key_id "$key")\",\"signature\":\"$(sign_b64 "$key" "$payload")\"}"
    done
    printf '{"signed":"%s","signatures":[%s]}\n' "$(base64 -w0 < "$payload")" "$signatures"
}

printf '{"type":"root","version":1,"created_at":"2026-11-24T10:00:00Z","root_key":"%s","signing_keys":["%s"]}' \
    "$(raw_public_b64 root-1)" "$(raw_public_b64 signing-1)" > "$WORK/root-v1"
envelope "$WORK/root-v1" root-1 > "$WIRE/root-v1.json"

printf '{"type":"root","version":2,"created_at":"2026-11-25T10:00:00Z","root_key":"%s","signing_keys":["%s"]}' \
    "$(raw_public_b64 root-2)" "$(raw_public_b64 signing-2)" > "$WORK/root-v2"
envelope "$WORK/root-v2" root-1 root-2 > "$WIRE/root-v2.json"

printf -- '---\nname: node-health\ndescription: Report this board'"'"'s uptime, disk and memory when asked about device health.\n---\n# Node Health\nRun `uptime`, `df -h /` and `free -m` with the exec tool and summarise.\n' > "$WORK/SKILL.md"
printf '{"type":"release","version":1,"group":"demo","created_at":"2026-11-24T10:00:00Z","expires_at":"2099-12-31T00:00:00Z","runtime_config":{"agents":{"defaults":{"model":"gpt-4o-mini"}}},"files":[{"path":"skills/node-health/SKILL.md","type":"file","size":%d,"sha256":"%s","mode":420}]}' \
    "$(stat -c %s "$WORK/SKILL.md")" "$(sha256sum "$WORK/SKILL.md" | cut -d' ' -f1)" > "$WORK/release-v1"
envelope "$WORK/release-v1" signing-1 > "$WIRE/release-v1.json"

echo "root-1    $(raw_public_b64 root-1)  key_id $(key_id root-1)"
echo "root-2    $(raw_public_b64 root-2)  key_id $(key_id root-2)"
echo "signing-1 $(raw_public_b64 signing-1)  key_id $(key_id signing-1)"
echo "signing-2 $(raw_public_b64 signing-2)  key_id $(key_id signing-2)"
echo "SKILL.md  size $(stat -c %s "$WORK/SKILL.md") sha256 $(sha256sum "$WORK/SKILL.md" | cut -d' ' -f1)"
for f in root-v1 root-v2 release-v1; do echo "$f.json sha256 $(sha256sum "$WIRE/$f.json" | cut -d' ' -f1)"; done
