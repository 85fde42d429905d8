"""Values against the chart they are for: a key the chart neither declares nor reads is silently ignored by Helm.

A chart archive's values.yaml files (its own and its subcharts') declare keys, commented-out examples included
(`# issuerRef:` documents a key the templates read), and its templates read `.Values.<path>`. A key we set is
accepted when it is declared or read at its path, or lies under a key whose value the chart passes on whole
(an empty map by default, written out whole by toYaml, or listed as free-form by the caller).
"""

import re
import tarfile

import yaml

# A key line of values.yaml, commented out or not; a comment's own indentation after "# " nests it.
KEY_LINE = re.compile(r"^(?P<indent>[ ]*)(?P<comment>#[ ]*)?(?P<key>[A-Za-z0-9_./-]+):(?:[ ]|$)")
VALUES_REF = re.compile(r"\.Values((?:\.[A-Za-z0-9_]+)+)")
# A value the templates write out whole (toYaml .Values.x, or `with .Values.x` around toYaml .).
WHOLE_REF = re.compile(r"(?:toYaml|toJson|toPrettyJson|with)\s+\(?\s*\.Values((?:\.[A-Za-z0-9_]+)+)")


class Chart:
    """One chart archive: values declared and paths read, per (sub)chart prefix."""

    def __init__(self, archive):
        self.declared, self.read, self.whole, self.defaults = set(), set(), set(), {}
        with tarfile.open(archive) as tar:
            for member in tar.getmembers():
                if not member.isfile():
                    continue
                parts = member.name.split("/")[1:]
                # charts/<sub>/... belongs to subchart <sub>, whose values live under the key <sub>.
                prefix = tuple(p for i, p in enumerate(parts[:-1]) if i % 2 == 1 and parts[i - 1] == "charts")
                rest = parts[2 * len(prefix):]
                text = tar.extractfile(member).read().decode("utf-8", "replace")
                if rest == ["values.yaml"]:
                    values = yaml.safe_load(text) or {}
                    self._declare(prefix, values)
                    self._declare_commented(prefix, text)
                    self._set_default(prefix, values)
                elif rest and rest[0] == "templates":
                    for match in VALUES_REF.finditer(text):
                        self.read.add(prefix + tuple(match.group(1).strip(".").split(".")))
                    for match in WHOLE_REF.finditer(text):
                        self.whole.add(prefix + tuple(match.group(1).strip(".").split(".")))

    def _set_default(self, prefix, values):
        node = self.defaults
        for key in prefix:
            node = node.setdefault(key, {})
        for key, value in values.items():
            node.setdefault(key, value)

    def _declare(self, prefix, values):
        for key, value in values.items():
            self.declared.add(prefix + (key,))
            if isinstance(value, dict):
                self._declare(prefix + (key,), value)

    def _declare_commented(self, prefix, text):
        """`# key:` lines, nested by indentation under the keys above them."""
        stack = []  # (indent, path)
        for line in text.splitlines():
            match = KEY_LINE.match(line)
            if not match:
                continue
            indent = len(match["indent"]) + max(len(match["comment"] or "") - 2, 0)
            while stack and stack[-1][0] >= indent:
                stack.pop()
            path = (stack[-1][1] if stack else prefix) + (match["key"],)
            if match["comment"]:
                self.declared.add(path)
            stack.append((indent, path))

    def default(self, path):
        node = self.defaults
        for key in path:
            if not isinstance(node, dict) or key not in node:
                return None
            node = node[key]
        return node

    def ignored(self, values, free_form=(), path=()):
        """Dotted paths of `values` the chart neither declares nor reads."""
        found = []
        for key, value in values.items():
            here = path + (key,)
            if here in self.declared or here in self.read:
                passed_whole = self.default(here) == {} or here in free_form or here in self.whole
                if isinstance(value, dict) and value and not passed_whole:
                    found += self.ignored(value, free_form, here)
            elif not any(here[:i] in free_form for i in range(1, len(here))):
                found.append(".".join(here))
        return found
