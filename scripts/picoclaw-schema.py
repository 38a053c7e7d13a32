#!/usr/bin/env python3
"""Generates Sources/FlotillaFleet/Resources/picoclaw-schema.json from PicoClaw's config structs.

    scripts/picoclaw-schema.py GIT_DIR REF > Sources/FlotillaFleet/Resources/picoclaw-schema.json

GIT_DIR is a clone (bare is fine) of github.com/sipeed/picoclaw, REF a tag or commit (we ship
v0.2.9). The schema mirrors what PicoClaw's loader checks (pkg/config/diagnostics.go,
collectUnknownJSONFields): a struct accepts exactly the json tag names of its exported fields
(a field without a tag by its Go name, embedded structs flattened, `json:"-"` skipped, names
matched case-sensitively); slices check each element; maps accept any key and check each value;
everything else is not descended into. Types are recorded so `flotilla plan` can also report
what Go's decoder would refuse (a string where an int belongs).

Type references in the output:
  string, integer, number, bool, any   JSON scalars (any: json.RawMessage, interface{}, or a type
                                       with its own UnmarshalJSON that accepts several shapes)
  secret                               SecureString: a string PicoClaw treats as a credential
  [T                                   array of T
  {T                                   object with free-form keys and values of type T
  Name                                 a struct in "structs"
  ~T                                   a type with its own UnmarshalJSON: any JSON value decodes,
                                       and one shaped like T is checked as T
A struct with "custom_decoder" likewise accepts a value that is not an object unchecked.
"""
import json
import re
import subprocess
import sys

BASIC = {
    "string": "string", "bool": "bool", "byte": "integer", "rune": "integer",
    "int": "integer", "int8": "integer", "int16": "integer", "int32": "integer", "int64": "integer",
    "uint": "integer", "uint8": "integer", "uint16": "integer", "uint32": "integer", "uint64": "integer",
    "float32": "number", "float64": "number", "time.Duration": "integer",
    "any": "any", "interface{}": "any", "json.RawMessage": "any", "RawNode": "any",
}
# Types with a custom UnmarshalJSON whose accepted shapes differ from their Go shape; the key
# walker still descends by their Go kind, so only the value type is relaxed.
SECRET_TYPES = {"SecureString": "secret", "SecureStrings": "[secret"}


def git(git_dir, *args):
    return subprocess.run(["git", "--git-dir", git_dir, *args], check=True, capture_output=True, text=True).stdout


def strip_comments(source):
    source = re.sub(r"/\*.*?\*/", "", source, flags=re.S)
    return re.sub(r"//[^\n`]*", "", source)


def block(source, start):
    """The text between the brace at `start` and its match."""
    depth = 0
    for index in range(start, len(source)):
        if source[index] == "{":
            depth += 1
        elif source[index] == "}":
            depth -= 1
            if depth == 0:
                return source[start + 1:index], index
    raise ValueError("unbalanced braces")


class Schema:
    def __init__(self):
        self.structs = {}      # name -> list of (json name or None for embedded, go type, anonymous struct body)
        self.named = {}        # name -> underlying go type expression
        self.custom = set()    # types with their own UnmarshalJSON
        self.anonymous = 0

    def read(self, source):
        source = strip_comments(source)
        for match in re.finditer(r"func \(\w+ \*?(\w+)\) UnmarshalJSON\(", source):
            self.custom.add(match.group(1))
        for match in re.finditer(r"^type (\w+) struct \{", source, flags=re.M):
            body, _ = block(source, match.end() - 1)
            self.structs[match.group(1)] = self.fields(body)
        for match in re.finditer(r"^type (\w+) ([^\s{=][^\n]*)$", source, flags=re.M):
            if not match.group(2).startswith("struct"):
                self.named[match.group(1)] = match.group(2).strip()

    def fields(self, body):
        fields = []
        position = 0
        while position < len(body):
            line_end = body.find("\n", position)
            line_end = len(body) if line_end < 0 else line_end
            line = body[position:line_end].strip()
            brace = body.find("{", position, line_end)
            if re.match(r"^\w+\s+\*?(\[\])?struct\s*\{", line) and brace >= 0:
                inner, close = block(body, brace)
                rest_end = body.find("\n", close)
                rest_end = len(body) if rest_end < 0 else rest_end
                tag = re.search(r'json:"([^"]*)"', body[close:rest_end])
                name = re.match(r"^(\w+)", line).group(1)
                self.anonymous += 1
                anonymous_name = "anonymous%d" % self.anonymous
                self.structs[anonymous_name] = self.fields(inner)
                prefix = "[]" if "[]struct" in line else ""
                fields.append((self.json_name(name, tag), prefix + anonymous_name))
                position = rest_end + 1
                continue
            position = line_end + 1
            if not line:
                continue
            match = re.match(r"^(\w+)\s+([^`\s][^`]*?)\s*(`.*`)?$", line)
            if match and match.group(1)[0].isupper():
                tag = re.search(r'json:"([^"]*)"', match.group(3) or "")
                name = self.json_name(match.group(1), tag)
                if name is not None:
                    fields.append((name, match.group(2).strip()))
                continue
            embedded = re.match(r"^\*?([\w.]+)\s*(`.*`)?$", line)
            if embedded:
                tag = re.search(r'json:"([^"]*)"', embedded.group(2) or "")
                tag_name = tag.group(1).split(",")[0] if tag else ""
                if tag_name == "-":
                    continue
                if tag_name:
                    fields.append((tag_name, embedded.group(1)))
                else:
                    fields.append((None, embedded.group(1)))
        return fields

    @staticmethod
    def json_name(go_name, tag):
        if not go_name[0].isupper():
            return None
        name = tag.group(1).split(",")[0] if tag else ""
        if name == "-":
            return None
        return name or go_name

    def reference(self, expression, used):
        expression = expression.strip()
        while expression.startswith("*"):
            expression = expression[1:]
        if expression.startswith("[]"):
            return "[" + self.reference(expression[2:], used)
        if re.match(r"^\[\d+\]", expression):
            return "[" + self.reference(re.sub(r"^\[\d+\]", "", expression), used)
        if expression.startswith("map["):
            depth, index = 0, 3
            for index in range(3, len(expression)):
                depth += {"[": 1, "]": -1}.get(expression[index], 0)
                if depth == 0:
                    break
            return "{" + self.reference(expression[index + 1:], used)
        if expression in SECRET_TYPES:
            return SECRET_TYPES[expression]
        if expression in BASIC:
            return BASIC[expression]
        if expression in self.structs:
            used.append(expression)
            return expression
        if expression in self.named:
            underlying = self.reference(self.named[expression], used)
            if expression not in self.custom:
                return underlying
            return "~" + underlying if underlying.startswith(("[", "{")) else "any"
        raise SystemExit("picoclaw-schema: unknown type %r" % expression)

    def flatten(self, name, used):
        result = {}
        for json_name, go_type in self.structs[name]:
            if json_name is None:
                base = go_type.lstrip("*")
                if base in self.structs:
                    result.update(self.flatten(base, used))
                continue
            result[json_name] = self.reference(go_type, used)
        return result

    def emit(self, root):
        out, pending = {}, [root]
        while pending:
            name = pending.pop()
            if name in out:
                continue
            used = []
            entry = {"fields": dict(sorted(self.flatten(name, used).items()))}
            if name in self.custom:
                entry["custom_decoder"] = True
            out[name] = entry
            pending.extend(used)
        return dict(sorted(out.items()))


def channels(source):
    """Channel types InitChannelList accepts (channelSettingsFactory's keys) and the singleton
    ones (registerSingletonChannel), from pkg/config/config_channel.go."""
    source = strip_comments(source)
    constants = dict(re.findall(r"^\s*(Channel\w+)\s*=\s*\"([^\"]+)\"", source, flags=re.M))
    start = source.index("channelSettingsFactory = map[string]any{")
    body, _ = block(source, source.index("{", start + len("channelSettingsFactory = map[string]any")))
    types = sorted(constants[name] for name in re.findall(r"^\s*(Channel\w+)\s*:", body, flags=re.M))
    singletons = sorted(constants[name] for name in re.findall(r"registerSingletonChannel\((Channel\w+)\)", source))
    return types, singletons


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    git_dir, ref = sys.argv[1], sys.argv[2]
    commit = git(git_dir, "rev-parse", ref + "^{commit}").strip()
    schema = Schema()
    for path in git(git_dir, "ls-tree", "--name-only", commit, "pkg/config/").split():
        if path.endswith(".go") and not path.endswith("_test.go"):
            schema.read(git(git_dir, "show", "%s:%s" % (commit, path)))
    config = git(git_dir, "show", "%s:pkg/config/config.go" % commit)
    channel_types, singletons = channels(git(git_dir, "show", "%s:pkg/config/config_channel.go" % commit))
    version = int(re.search(r"const CurrentVersion = (\d+)", config).group(1))
    structs = schema.emit("Config")
    # Every field PicoClaw stores as a SecureString, by json name: in free-form places (channel
    # settings are decoded leniently from raw JSON) a key with one of these names is a secret.
    secret_names = sorted({name for entry in structs.values() for name, ref in entry["fields"].items()
                           if ref in ("secret", "[secret")}
                          | {name for struct in schema.structs for name, go_type in schema.structs[struct]
                             if name and go_type.lstrip("*") in SECRET_TYPES})
    document = {
        "generator": "scripts/picoclaw-schema.py",
        "picoclaw_version": ref,
        "picoclaw_commit": commit,
        "config_version": version,
        "root": "Config",
        "secret_names": secret_names,
        "channel_types": channel_types,
        "singleton_channel_types": singletons,
        "structs": structs,
    }
    json.dump(document, sys.stdout, indent=1, sort_keys=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
