#!/bin/sh
# Installs the Flotilla node agent on a board from a provisioning bundle (the directory this
# script is in): binary, node.conf, a `flotilla` system user, a 0700 state directory, enrollment,
# and the hardened systemd unit. Safe to run again: finished steps are skipped.
#
#   sudo ./install.sh [--name NAME] [--binary PATH] [--root DIR] [--no-enroll] [--no-start]
#                     [--agent-args "ARGS"]
#
# --root DIR installs into DIR instead of / (images, tests); systemd is then only enabled by link.
# --agent-args: extra `flotilla-node run` arguments, kept in /etc/flotilla/node.env.
set -eu

BUNDLE=$(cd "$(dirname "$0")" && pwd)
ROOT=/
NAME=
BINARY=
ENROLL=yes
START=yes
AGENT_ARGS=
AGENT_ARGS_SET=no

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --root) ROOT=$2; shift 2 ;;
        --name) NAME=$2; shift 2 ;;
        --binary) BINARY=$2; shift 2 ;;
        --no-enroll) ENROLL=no; shift ;;
        --no-start) START=no; shift ;;
        --agent-args) AGENT_ARGS=$2; AGENT_ARGS_SET=yes; shift 2 ;;
        -h|--help) usage ;;
        *) echo "install.sh: unknown argument $1" >&2; usage ;;
    esac
done

say() { echo "flotilla-install: $*"; }
die() { echo "flotilla-install: error: $*" >&2; exit 1; }

[ -f "$BUNDLE/node.conf" ] || die "no node.conf next to install.sh (is this a provisioning bundle?)"
R=${ROOT%/}

if [ -z "$BINARY" ]; then
    ARCH=$(uname -m)
    case "$ARCH" in arm64) ARCH=aarch64 ;; esac
    for candidate in "$BUNDLE/flotilla-node-linux-$ARCH" "$BUNDLE/flotilla-node"; do
        if [ -f "$candidate" ]; then BINARY=$candidate; break; fi
    done
fi
[ -n "$BINARY" ] && [ -f "$BINARY" ] || die "no agent binary for $(uname -m) in the bundle; pass --binary PATH"

# 1. System user and group (no login, no home outside the state directory).
if [ "$ROOT" = / ]; then
    if ! id flotilla >/dev/null 2>&1; then
        useradd --system --home-dir /var/lib/flotilla --no-create-home --shell /usr/sbin/nologin --user-group flotilla
        say "created system user flotilla"
    fi
else
    mkdir -p "$R/etc"
    touch "$R/etc/passwd" "$R/etc/group"
    grep -q '^flotilla:' "$R/etc/group" || echo 'flotilla:x:990:' >> "$R/etc/group"
    grep -q '^flotilla:' "$R/etc/passwd" || echo 'flotilla:x:990:990:Flotilla node agent:/var/lib/flotilla:/usr/sbin/nologin' >> "$R/etc/passwd"
fi

# 2. Binary and configuration.
install -d -m 0755 "$R/usr/local/bin" "$R/etc/systemd/system"
install -m 0755 "$BINARY" "$R/usr/local/bin/flotilla-node.new"
mv -f "$R/usr/local/bin/flotilla-node.new" "$R/usr/local/bin/flotilla-node"
install -d -m 0700 "$R/etc/flotilla"
install -m 0600 "$BUNDLE/node.conf" "$R/etc/flotilla/node.conf"
install -d -m 0700 "$R/var/lib/flotilla"
# node.env keeps the operator's earlier choice on a re-run unless --agent-args is given again.
if [ "$AGENT_ARGS_SET" = yes ] || [ ! -f "$R/etc/flotilla/node.env" ]; then
    printf 'FLOTILLA_NODE_ARGS=%s\n' "$AGENT_ARGS" > "$R/etc/flotilla/node.env.new"
    chmod 0600 "$R/etc/flotilla/node.env.new"
    mv -f "$R/etc/flotilla/node.env.new" "$R/etc/flotilla/node.env"
fi
if [ "$ROOT" = / ]; then
    chown -R flotilla:flotilla /etc/flotilla /var/lib/flotilla
fi
say "installed $R/usr/local/bin/flotilla-node and $R/etc/flotilla/node.conf"

# 3. Enrollment: the key is generated here, on the board, and never leaves it.
if [ "$ENROLL" = yes ]; then
    if [ -f "$R/var/lib/flotilla/node.json" ]; then
        say "already enrolled ($R/var/lib/flotilla/node.json exists)"
    else
        set -- enroll --config "$R/etc/flotilla/node.conf" --state-dir "$R/var/lib/flotilla"
        [ -n "$NAME" ] && set -- "$@" --name "$NAME"
        if [ "$ROOT" = / ]; then
            runuser -u flotilla -- /usr/local/bin/flotilla-node "$@"
        else
            "$R/usr/local/bin/flotilla-node" "$@"
        fi
        say "enrolled"
    fi
fi

# 4. Hardened systemd unit.
install -m 0644 "$BUNDLE/flotilla-node.service" "$R/etc/systemd/system/flotilla-node.service"
if [ "$ROOT" = / ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl enable flotilla-node.service >/dev/null
    [ "$START" = yes ] && systemctl restart flotilla-node.service
    say "flotilla-node.service enabled$( [ "$START" = yes ] && echo ' and started')"
else
    install -d -m 0755 "$R/etc/systemd/system/multi-user.target.wants"
    ln -sf /etc/systemd/system/flotilla-node.service "$R/etc/systemd/system/multi-user.target.wants/flotilla-node.service"
    say "flotilla-node.service enabled (by link; start it with systemctl on the board)"
fi
