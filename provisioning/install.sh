#!/bin/sh
# Installs the Flotilla node agent on a board from a provisioning bundle (the directory this
# script is in): binary, node.conf, a `flotilla` system user, a 0700 state directory, enrollment,
# and the hardened systemd unit. Safe to run again: finished steps are skipped.
#
#   sudo ./install.sh [--name NAME] [--binary PATH] [--root DIR] [--no-enroll] [--no-start]
#                     [--agent-args "ARGS"] [--picoclaw-unit UNIT [--picoclaw-home DIR]]
#
# --root DIR installs into DIR instead of / (images, tests); systemd is then only enabled by link.
# --agent-args: extra `flotilla-node run` arguments, kept in /etc/flotilla/node.env.
# --picoclaw-unit: PicoClaw runs as systemd unit UNIT with its home in DIR (/var/lib/picoclaw):
#   the agent manages it (--runtime picoclaw, restarting UNIT to apply a release, allowed by a
#   polkit rule), and UNIT trusts the fleet CA for the gateway through SSL_CERT_DIR next to the
#   system's roots (a drop-in). See docs/picoclaw.md.
set -eu

BUNDLE=$(cd "$(dirname "$0")" && pwd)
ROOT=/
NAME=
BINARY=
ENROLL=yes
START=yes
AGENT_ARGS=
AGENT_ARGS_SET=no
PICOCLAW_UNIT=
PICOCLAW_HOME_DIR=/var/lib/picoclaw

usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --root) ROOT=$2; shift 2 ;;
        --name) NAME=$2; shift 2 ;;
        --binary) BINARY=$2; shift 2 ;;
        --no-enroll) ENROLL=no; shift ;;
        --no-start) START=no; shift ;;
        --agent-args) AGENT_ARGS=$2; AGENT_ARGS_SET=yes; shift 2 ;;
        --picoclaw-unit) PICOCLAW_UNIT=${2%.service}; shift 2 ;;
        --picoclaw-home) PICOCLAW_HOME_DIR=${2%/}; shift 2 ;;
        -h|--help) usage ;;
        *) echo "install.sh: unknown argument $1" >&2; usage ;;
    esac
done

say() { echo "flotilla-install: $*"; }
die() { echo "flotilla-install: error: $*" >&2; exit 1; }

[ -f "$BUNDLE/node.conf" ] || die "no node.conf next to install.sh (is this a provisioning bundle?)"
case "$PICOCLAW_UNIT" in
    *[!A-Za-z0-9_.@-]*) die "--picoclaw-unit: not a unit name: $PICOCLAW_UNIT" ;;
esac
case "$PICOCLAW_HOME_DIR" in
    /*) ;;
    *) die "--picoclaw-home must be an absolute path" ;;
esac
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
if [ -n "$PICOCLAW_UNIT" ] && [ "$AGENT_ARGS_SET" = no ]; then
    AGENT_ARGS="--runtime picoclaw"
    AGENT_ARGS_SET=yes
fi
if [ "$AGENT_ARGS_SET" = yes ] || [ ! -f "$R/etc/flotilla/node.env" ]; then
    {
        printf 'FLOTILLA_NODE_ARGS=%s\n' "$AGENT_ARGS"
        if [ -n "$PICOCLAW_UNIT" ]; then
            printf 'PICOCLAW_HOME=%s\n' "$PICOCLAW_HOME_DIR"
            printf 'FLOTILLA_PICOCLAW_RESTART=systemctl restart %s.service\n' "$PICOCLAW_UNIT"
        fi
    } > "$R/etc/flotilla/node.env.new"
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

# 4. PicoClaw: the fleet CA for its HTTPS clients (Go reads every file of each SSL_CERT_DIR
#    entry; the system directory stays first so its roots remain trusted), and the right for the
#    agent's user to restart it, nothing else.
if [ -n "$PICOCLAW_UNIT" ]; then
    DROPIN="$R/etc/systemd/system/$PICOCLAW_UNIT.service.d"
    RULE="$R/etc/polkit-1/rules.d/50-flotilla-$PICOCLAW_UNIT.rules"
    install -d -m 0755 "$DROPIN" "$R/etc/polkit-1/rules.d" "$R$PICOCLAW_HOME_DIR"
    {
        echo "# Written by Flotilla's install.sh: PicoClaw trusts the fleet CA (kept current by flotilla-node"
        echo "# in $PICOCLAW_HOME_DIR/flotilla-ca) besides the system's roots, and finds its home."
        echo "[Service]"
        echo "Environment=SSL_CERT_DIR=/etc/ssl/certs:$PICOCLAW_HOME_DIR/flotilla-ca"
        echo "Environment=PICOCLAW_HOME=$PICOCLAW_HOME_DIR"
    } > "$DROPIN/flotilla.conf"
    {
        echo "// Written by Flotilla's install.sh: the node agent (user flotilla) may restart"
        echo "// $PICOCLAW_UNIT.service to apply a release, and nothing else."
        echo "polkit.addRule(function(action, subject) {"
        echo "    if (action.id == \"org.freedesktop.systemd1.manage-units\" && subject.user == \"flotilla\" &&"
        echo "        action.lookup(\"unit\") == \"$PICOCLAW_UNIT.service\" && action.lookup(\"verb\") == \"restart\") {"
        echo "        return polkit.Result.YES;"
        echo "    }"
        echo "});"
    } > "$RULE"
    chmod 0644 "$DROPIN/flotilla.conf" "$RULE"
    if [ "$PICOCLAW_HOME_DIR" != /var/lib/picoclaw ]; then
        # The agent's hardened unit may write only its state and PicoClaw's home.
        install -d -m 0755 "$R/etc/systemd/system/flotilla-node.service.d"
        printf '[Service]\nReadWritePaths=-%s\n' "$PICOCLAW_HOME_DIR" > "$R/etc/systemd/system/flotilla-node.service.d/picoclaw-home.conf"
        chmod 0644 "$R/etc/systemd/system/flotilla-node.service.d/picoclaw-home.conf"
    fi
    if [ "$ROOT" = / ]; then
        chown flotilla:flotilla "$PICOCLAW_HOME_DIR"
        command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ] && systemctl daemon-reload
    fi
    say "PicoClaw unit $PICOCLAW_UNIT.service: trusts the fleet CA, restartable by the agent"
fi

# 5. Hardened systemd unit.
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
