#!/usr/bin/env python3
"""A stand-in for PicoClaw (github.com/sipeed/picoclaw, v0.2.9) in Flotilla's tests: we cannot
run the real Go binary here, so this follows the rules of the real one that a Flotilla node
depends on. Each rule names the PicoClaw source file it comes from.

    picoclaw_standin.py gateway            like `picoclaw gateway`: load config, serve /health,
                                           /ready and /reload, write the pid file, log to
                                           $PICOCLAW_HOME/logs/gateway.log
    picoclaw_standin.py agent -m TEXT      like `picoclaw agent -m`: one turn through the default
                                           model and its fallbacks; prints JSON {"api_base",
                                           "model", "status", "content", "attempts"}
    picoclaw_standin.py restart            what a service manager's restart does: stop the
                                           gateway in the pid file, start a new one detached

Unknown config keys are found with Flotilla's generated copy of PicoClaw's structs
(Sources/FlotillaFleet/Resources/picoclaw-schema.json, scripts/picoclaw-schema.py), walked the
way pkg/config/diagnostics.go walks them. Test knobs (not PicoClaw's): STANDIN_RELOAD_SECONDS
(how long a reload takes), STANDIN_PIDS (a file each started process appends its pid to).
"""
import datetime
import http.server
import json
import os
import secrets
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.request

SCHEMA_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Sources", "FlotillaFleet",
                           "Resources", "picoclaw-schema.json")
with open(SCHEMA_PATH) as schema_file:
    SCHEMA = json.load(schema_file)
CURRENT_VERSION = SCHEMA["config_version"]  # pkg/config/config.go: const CurrentVersion = 3
LEVELS = {"debug": 0, "info": 1, "warn": 2, "error": 3, "fatal": 4}


class ConfigError(Exception):
    pass


def home_path():
    # pkg/config/envkeys.go GetHome: $PICOCLAW_HOME, else ~/.picoclaw
    return os.environ.get("PICOCLAW_HOME") or os.path.join(os.path.expanduser("~"), ".picoclaw")


def config_path():
    # cmd/picoclaw/internal/helpers.go GetConfigPath: $PICOCLAW_CONFIG, else <home>/config.json
    return os.environ.get("PICOCLAW_CONFIG") or os.path.join(home_path(), "config.json")


class Logger:
    """pkg/logger: zerolog JSON lines in <home>/logs/gateway.log (pkg/gateway/gateway.go
    EnableFileLogging), level from gateway.log_level, default "warn" (pkg/config/gateway.go)."""

    def __init__(self, path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self.path = path
        self.level = "warn"

    def log(self, level, component, message, **fields):
        if LEVELS[level] < LEVELS.get(self.level, 2):
            return
        line = {"level": level, "component": component, **fields, "time": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
                "message": message}
        with open(self.path, "a") as log_file:
            log_file.write(json.dumps(line) + "\n")


def unknown_fields(value, type_ref, path):
    """pkg/config/diagnostics.go collectUnknownJSONFields: structs accept exactly their json tag
    names (case-sensitive), slices check each element, maps check each value, nothing else."""
    if type_ref.startswith("~"):
        type_ref = type_ref[1:]
    if type_ref.startswith("["):
        return [issue for index, item in enumerate(value) for issue in unknown_fields(item, type_ref[1:], "%s[%d]" % (path, index))] \
            if isinstance(value, list) else []
    if type_ref.startswith("{"):
        return [issue for key, item in value.items() for issue in unknown_fields(item, type_ref[1:], join(path, key))] \
            if isinstance(value, dict) else []
    struct = SCHEMA["structs"].get(type_ref)
    if struct is None or not isinstance(value, dict):
        return []
    issues = []
    for key, item in value.items():
        if key not in struct["fields"]:
            issues.append(join(path, key))
        else:
            issues.extend(unknown_fields(item, struct["fields"][key], join(path, key)))
    return issues


def join(path, key):
    return key if not path else path + "." + key


def resolve_key(raw, base_directory):
    """pkg/credential/credential.go: file://NAME is read relative to the config file's directory,
    must stay inside it, and is trimmed; anything else is the key itself."""
    if not raw.startswith("file://"):
        return raw
    name = raw[len("file://"):].strip()
    if not name:
        raise ConfigError("credential: file:// reference has no filename")
    base = os.path.realpath(base_directory)
    path = os.path.join(base, name.lstrip("/"))
    if not os.path.exists(path):
        raise ConfigError('credential: failed to resolve credential file path "%s": no such file or directory' % path)
    real = os.path.realpath(path)
    if not real.startswith(base + os.sep):
        raise ConfigError("credential: file:// path escapes config directory")
    with open(real) as key_file:
        key = key_file.read().strip()
    if not key:
        raise ConfigError('credential: credential file "%s" is empty' % real)
    return key


def load_config(path, log):
    """pkg/config/config.go LoadConfig. Returns the config as a dict with keys resolved."""
    if not os.path.exists(path):
        log.log("warn", "config", "config file not found, using default config", path=path)
        return {"version": CURRENT_VERSION}
    with open(path, "rb") as config_file:
        data = config_file.read()
    try:
        config = json.loads(data)
    except ValueError as error:
        raise ConfigError("config.json syntax error: %s" % error)
    if len(data) <= 10:
        return {"version": CURRENT_VERSION}
    version = config.get("version", 0)
    if version in (0, 1, 2):
        # Versions before 3 are migrated: a dated backup is written, then config.json rewritten
        # (config.go, MakeBackup and the deferred SaveConfig; migration.go).
        stamp = datetime.date.today().strftime("%Y%m%d")
        with open("%s.%s.bak" % (path, stamp), "wb") as backup:
            backup.write(data)
        config["version"] = CURRENT_VERSION
        with open(path, "w") as rewritten:
            json.dump(config, rewritten, indent=2)
        log.log("info", "config", "config migrate success", **{"from": version, "to": CURRENT_VERSION})
    elif version != CURRENT_VERSION:
        raise ConfigError("unsupported config version: %d" % version)
    else:
        unknown = sorted(unknown_fields(config, SCHEMA["root"], ""))
        if unknown:
            error = ConfigError("config.json contains unknown field(s): " + ", ".join(unknown))
            log.log("error", "config", "Failed to load config: %s" % error, path=path)
            raise error
    for index, entry in enumerate(config.get("model_list") or []):
        try:
            entry["api_keys"] = [resolve_key(key, os.path.dirname(path)) for key in entry.get("api_keys") or []]
        except ConfigError as error:
            raise ConfigError("failed to parse config.json: %s" % error)
        # config.go ModelConfig.Validate, wrapped by ValidateModelList
        if not entry.get("model_name"):
            raise ConfigError("model_list[%d]: model_name is required" % index)
        if not entry.get("model"):
            raise ConfigError("model_list[%d]: model is required" % index)
    # config_channel.go InitChannelList: the type (default: the entry's name) must be known, and a
    # singleton type may be enabled once.
    enabled = {}
    for name, channel in (config.get("channel_list") or {}).items():
        kind = channel.get("type") or name
        if kind not in SCHEMA["channel_types"]:
            raise ConfigError('channel "%s" has unknown type "%s"' % (name, kind))
        if channel.get("enabled") and kind in SCHEMA["singleton_channel_types"]:
            enabled.setdefault(kind, []).append(name)
    for kind, names in sorted(enabled.items()):
        if len(names) > 1:
            raise ConfigError('channel type "%s" is singleton and does not support multiple instances, found %d enabled instances: [%s]'
                              % (kind, len(names), " ".join(sorted(names))))
    return config


def default_model(config):
    """pkg/providers/legacy_provider.go: the default model must be a model_list entry."""
    name = ((config.get("agents") or {}).get("defaults") or {}).get("model_name", "")
    entries = config.get("model_list") or []
    if not entries:
        raise ConfigError("no providers configured. Please add entries to model_list in your config")
    for entry in entries:
        if entry.get("model_name") == name:
            provider = entry.get("provider", "openai")
            # factory_provider.go: anthropic-messages needs a key; openai a key or api_base
            if provider == "anthropic-messages" and not entry.get("api_keys"):
                raise ConfigError("api_key is required for anthropic-messages protocol (model: %s)" % entry["model"])
            return entry
    raise ConfigError('model "%s" not found in model_list: model "%s" not found in model_list or providers' % (name, name))


class Gateway:
    """cmd/picoclaw gateway (pkg/gateway/gateway.go, pkg/health/server.go, pkg/pid/pidfile.go)."""

    def __init__(self):
        self.home = home_path()
        self.path = config_path()
        self.log = Logger(os.path.join(self.home, "logs", "gateway.log"))
        self.token = secrets.token_hex(16)
        self.started = time.time()
        self.reload_state = None  # None, "queued" or "running"
        self.lock = threading.Lock()
        self.config = None

    def fail_startup(self, error):
        self.log.log("error", "gateway", "Gateway startup failed", config_path=self.path, error=error, home_path=self.home)
        sys.stderr.write("Error: %s\n" % error)
        sys.exit(1)

    def start(self):
        # gateway.go: the log level comes from the config before it is loaded (ResolveGatewayLogLevel)
        try:
            with open(self.path) as config_file:
                self.log.level = (json.load(config_file).get("gateway") or {}).get("log_level") or "warn"
        except (OSError, ValueError, AttributeError):
            pass
        self.log.level = os.environ.get("PICOCLAW_LOG_LEVEL", self.log.level)
        try:
            self.config = load_config(self.path, self.log)
        except ConfigError as error:
            self.fail_startup("error loading config: %s" % error)
        gateway = self.config.get("gateway") or {}
        host, port = gateway.get("host", "localhost"), gateway.get("port", 18790)
        if not 1 <= port <= 65535:  # gateway.go preCheckConfig
            self.fail_startup("invalid gateway port: %d, port must be between 1 and 65535" % port)
        server = http.server.ThreadingHTTPServer((host, port), self.handler())
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.write_pid_file(host, port)
        try:
            default_model(self.config)  # provider creation comes after the pid file
        except ConfigError as error:
            self.remove_pid_file()
            self.fail_startup("error creating provider: %s" % error)
        self.log.log("info", "agent", "Agent initialized")
        print("✓ Gateway started on %s:%d" % (host, port), flush=True)
        signal.signal(signal.SIGTERM, lambda *_: self.stop())
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM, signal.SIGINT])
        while True:
            time.sleep(0.1)
            with self.lock:
                due = self.reload_state == "queued"
                if due:
                    self.reload_state = "running"
            if due:
                self.reload()

    def write_pid_file(self, host, port):
        # pidfile.go WritePidFile: JSON {pid, token, version, port, host}, 0600, written atomically
        pid_path = os.path.join(self.home, ".picoclaw.pid")
        temporary = pid_path + ".tmp"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as pid_file:
            json.dump({"pid": os.getpid(), "token": self.token, "version": "0.2.9", "port": port, "host": host}, pid_file, indent=2)
        os.rename(temporary, pid_path)
        pids = os.environ.get("STANDIN_PIDS")
        if pids:
            with open(pids, "a") as pids_file:
                pids_file.write("%d\n" % os.getpid())

    def remove_pid_file(self):
        # pidfile.go RemovePidFile: only when the file records this process
        pid_path = os.path.join(self.home, ".picoclaw.pid")
        try:
            with open(pid_path) as pid_file:
                if json.load(pid_file).get("pid") == os.getpid():
                    os.remove(pid_path)
        except (OSError, ValueError):
            pass

    def stop(self):
        self.remove_pid_file()
        os._exit(0)

    def reload(self):
        """gateway.go: the main loop's manual reload; a failure keeps the old config."""
        time.sleep(float(os.environ.get("STANDIN_RELOAD_SECONDS", "0.3")))
        self.log.log("info", "gateway", "Manual reload triggered via /reload endpoint")
        try:
            try:
                config = load_config(self.path, self.log)
            except ConfigError as error:
                self.log.log("error", "gateway", "Error loading config for manual reload: %s" % error)
                return
            self.log.log("info", "gateway", "🔄 Config file changed, reloading...")
            try:
                default_model(config)
            except ConfigError as error:
                self.log.log("error", "gateway", "  ⚠ Error creating new provider: %s" % error)
                self.log.log("error", "gateway", "Manual reload failed: error creating new provider: %s" % error)
                return
            self.config = config
            self.log.log("info", "gateway", "  ✓ Provider, configuration, and services reloaded successfully (thread-safe)")
            self.log.log("info", "gateway", "Manual reload completed successfully")
        finally:
            with self.lock:
                self.reload_state = None

    def handler(self):
        gateway = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def reply(self, code, body):
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                # server.go healthHandler: always 200 with the process's pid; at v0.2.9 nothing
                # ever marks the gateway ready, so /ready stays 503 (gateway.go)
                if self.path == "/health":
                    self.reply(200, {"status": "ok", "uptime": "%.0fs" % (time.time() - gateway.started), "pid": os.getpid()})
                elif self.path == "/ready":
                    self.reply(503, {"status": "not ready"})
                else:
                    self.reply(404, {"error": "not found"})

            def do_POST(self):
                # server.go reloadHandler: bearer token from the pid file; only queues the reload
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path != "/reload":
                    return self.reply(404, {"error": "not found"})
                if self.headers.get("Authorization") != "Bearer " + gateway.token:
                    return self.reply(401, {"error": "unauthorized"})
                with gateway.lock:
                    state = gateway.reload_state
                    if state is None:
                        gateway.reload_state = "queued"
                if state is not None:
                    return self.reply(500, {"error": "reload already in progress" if state == "running" else "reload already queued"})
                self.reply(200, {"status": "reload triggered"})

            def log_message(self, *args):
                pass

        return Handler


def go_root_pool():
    """Go's default trust (crypto/x509/root_unix.go, root_linux.go), which PicoClaw's HTTP
    clients use: SSL_CERT_FILE replaces the list of bundle files, the first readable one is
    loaded; SSL_CERT_DIR (colon-separated) replaces the directories, and every file in each is
    loaded (symlinks to files in the same directory skipped, readUniqueDirectoryEntries)."""
    files = ["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/ca-bundle.pem",
             "/etc/pki/tls/cacert.pem", "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", "/etc/ssl/cert.pem"]
    directories = ["/etc/ssl/certs", "/etc/pki/tls/certs"]
    if os.environ.get("SSL_CERT_FILE"):
        files = [os.environ["SSL_CERT_FILE"]]
    if os.environ.get("SSL_CERT_DIR"):
        directories = os.environ["SSL_CERT_DIR"].split(":")
    pem = []
    for name in files:
        try:
            with open(name) as bundle:
                pem.append(bundle.read())
            break
        except OSError:
            continue
    for directory in directories:
        try:
            entries = sorted(os.listdir(directory))
        except OSError:
            continue
        for entry in entries:
            full = os.path.join(directory, entry)
            if os.path.islink(full) and "/" not in os.readlink(full):
                continue
            try:
                with open(full) as certificate:
                    text = certificate.read()
            except (OSError, UnicodeDecodeError):
                continue
            if "-----BEGIN CERTIFICATE-----" in text:
                pem.append(text)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if pem:
        context.load_verify_locations(cadata="\n".join(pem))
    return context


# pkg/providers/error_classifier.go classifyByStatus: what each HTTP status means for the
# fallback chain (408 and the transient 5xx are timeouts); types.go IsRetriable: every reason but
# format and context overflow moves on to the next candidate.
STATUS_REASONS = {401: "auth", 403: "auth", 402: "billing", 408: "timeout", 429: "rate_limit", 400: "format"}
STATUS_REASONS.update({code: "timeout" for code in (500, 502, 503, 521, 522, 523, 524, 529)})


def candidates(config):
    """The agent's candidates, primary first (pkg/agent/instance.go resolveAgentFallbacks,
    model_resolution.go resolveModelCandidates): agents.defaults.model_name then
    model_fallbacks, each found in model_list by model_name (lookupModelConfigByRef; one entry
    per name here, so GetModelConfig's round-robin between same-named entries never applies),
    deduplicated by the entry's identity "model_name:NAME" (StableKey). Each candidate's call
    goes through the provider kept for its "provider/model" key, which only the fallbacks'
    entries fill, the first of a key winning (instance.go populateCandidateProvidersFromNames,
    model_ref.go ModelKey lower-cases the model); a key with none uses the primary's provider
    (pipeline_llm.go providerForFallbackCandidate). So two entries sending the same model share
    one api_base."""
    defaults = (config.get("agents") or {}).get("defaults") or {}
    primary = default_model(config)
    entries = config.get("model_list") or []

    def entry_named(name):
        return next((entry for entry in entries if entry.get("model_name") == name), None)

    def key(entry):
        return (entry.get("provider") or "openai").lower() + "/" + entry["model"].strip().lower()

    providers = {}
    for name in defaults.get("model_fallbacks") or []:
        entry = entry_named(name)
        if entry is not None and key(entry) not in providers:
            providers[key(entry)] = entry
    chosen, seen = [], set()
    for name in [primary["model_name"]] + list(defaults.get("model_fallbacks") or []):
        entry = entry_named(name)
        if entry is None or ("model_name:" + name) in seen:
            continue
        seen.add("model_name:" + name)
        chosen.append((entry["model"], providers.get(key(entry), primary)))
    return chosen


def call(model, entry, message):
    """One provider call (factory_provider.go): provider openai → POST {api_base}/chat/completions
    with Authorization: Bearer; provider anthropic-messages → base normalised to end in /v1
    (common/anthropic_common.go), POST {base}/messages with X-API-Key. The model string is sent
    unchanged when provider is set."""
    key = (entry.get("api_keys") or [""])[0]
    base = entry.get("api_base", "").rstrip("/")
    if entry.get("provider") == "anthropic-messages":
        base = (base[:-3] if base.endswith("/v1") else base) + "/v1"
        url, headers = base + "/messages", {"X-API-Key": key, "Anthropic-Version": "2023-06-01"}
        body = {"model": model, "max_tokens": 64, "messages": [{"role": "user", "content": message}]}
    else:
        url, headers = base + "/chat/completions", {"Authorization": "Bearer " + key}
        body = {"model": model, "messages": [{"role": "user", "content": message}]}
    headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    result = {"api_base": entry.get("api_base"), "model": model, "status": None, "content": None, "error": None}
    try:
        with urllib.request.urlopen(request, context=go_root_pool(), timeout=30) as response:
            result["status"] = response.status
            answer = json.loads(response.read())
            result["content"] = answer["content"][0]["text"] if "content" in answer else answer["choices"][0]["message"]["content"]
    except urllib.error.HTTPError as error:
        result["status"], result["error"] = error.code, error.read().decode(errors="replace")
    except (urllib.error.URLError, ssl.SSLError, OSError) as error:
        result["error"] = str(error)
    return result


def agent(message):
    """`picoclaw agent -m`: one turn through the fallback chain (pkg/providers/fallback.go
    ExecuteCandidate, used when there is more than one candidate: pipeline_llm.go). A transport
    error is "network" (error_classifier.go classifyByErrorType), a status is classified as
    above; a retriable reason moves on to the next candidate, a format error or an unclassified
    status ends the turn. Cooldowns live in the process, so a one-shot call starts with none.
    Prints the last attempt's JSON with every attempt under "attempts"."""
    log = Logger(os.path.join(home_path(), "logs", "agent.log"))
    try:
        config = load_config(config_path(), log)
        chain = candidates(config)
    except ConfigError as error:
        sys.stderr.write("Error: error creating provider: %s\n" % error)
        return 1
    attempts = []
    for model, entry in chain:
        result = call(model, entry, message)
        attempts.append(dict(result))
        if result["status"] == 200:
            break
        reason = "network" if result["status"] is None else STATUS_REASONS.get(result["status"])
        if reason is None or reason == "format" or len(chain) == 1:
            break
    result["attempts"] = attempts
    print(json.dumps(result))
    return 0 if result["status"] == 200 else 1


def restart():
    """Stops the running gateway (SIGTERM, as systemd does) and starts a new one in its own
    session, with none of this process's descriptors and its output in <home>/logs/stdout.log."""
    try:
        with open(os.path.join(home_path(), ".picoclaw.pid")) as pid_file:
            pid = json.load(pid_file)["pid"]
        os.kill(pid, signal.SIGTERM)
        deadline = time.time() + 10
        while time.time() < deadline:
            os.kill(pid, 0)
            time.sleep(0.05)
    except (OSError, ValueError, KeyError):
        pass
    os.makedirs(os.path.join(home_path(), "logs"), exist_ok=True)
    with open(os.path.join(home_path(), "logs", "stdout.log"), "a") as output:
        subprocess.Popen([sys.executable, os.path.abspath(__file__), "gateway"], stdin=subprocess.DEVNULL, stdout=output,
                         stderr=subprocess.STDOUT, start_new_session=True, close_fds=True)
    return 0


def main():
    if sys.argv[1:2] == ["restart"]:
        sys.exit(restart())
    if sys.argv[1:2] == ["gateway"]:
        # Started in the background by a restart command, as a service manager would: keep none
        # of the starter's descriptors (a test harness waits for its pipes to close).
        os.closerange(3, 65536)
        Gateway().start()
    elif sys.argv[1:3] == ["agent", "-m"] and len(sys.argv) == 4:
        sys.exit(agent(sys.argv[3]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
