"""Fails on an import that climbs: each room of `shared/src` (a top-level module) may name only
the rooms below it, as ARCHITECTURE.md draws them. The compiler does not hold these walls
inside one crate, so the test command does.

Usage: python infra/check_layers.py [shared/src]
"""

import pathlib
import re
import sys

# Room -> the rooms it may import (`crate::<room>`). Test code (`#[cfg(test)]` modules) and
# comments are not counted; the test-only rooms may import anything.
LEAVES = {"domain", "cidr", "correlation", "metrics", "deadline"}
ALLOWED = {
    **{leaf: set() for leaf in LEAVES},
    "ports": {"domain"},
    "error": {"domain", "ports"},
    "config": {"domain", "cidr"},
    "meta": {"domain", "ports", "error"},
    "services": {"domain", "meta", "ports", "error", "config", "metrics", "correlation"},
    "adapters": {"domain", "meta", "ports", "error", "config", "metrics", "correlation"},
    "http": {"domain", "meta", "ports", "error", "config", "services", "correlation", "deadline", "cidr", "metrics"},
    "worker": {"domain", "meta", "ports", "error", "config", "services", "adapters", "correlation", "metrics",
               "deadline"},
}
# Start-up and Lambda glue stand on everything; test helpers too.
TOP = {"runtime", "lambda", "secrets", "local", "lib", "testing", "conformance", "fixtures"}
TEST_MODULE = re.compile(r"#\[cfg\(test\)\]\s*(?:#\[path = \"[^\"]+\"\]\s*)?mod \w+\s*(;|\{)")


def code_of(text):
    """The file without its test module and comments."""
    cut = TEST_MODULE.search(text)
    if cut:
        text = text[: cut.start()]
    return "\n".join(line.split("//")[0] for line in text.splitlines())


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "shared/src")
    climbs = []
    for path in sorted(root.rglob("*.rs")):
        rel = path.relative_to(root)
        room = rel.parts[0].removesuffix(".rs")
        if room in TOP or path.name.endswith("_tests.rs"):
            continue
        if room not in ALLOWED:
            climbs.append(f"{rel}: room {room!r} is not in infra/check_layers.py")
            continue
        for n, line in enumerate(code_of(path.read_text()).splitlines(), 1):
            if "crate::{" in line:
                climbs.append(f"{rel}:{n}: write one `use crate::<room>::...` per room (this check reads them)")
            for target in re.findall(r"crate::(\w+)", line):
                if target != room and target not in ALLOWED[room]:
                    climbs.append(f"{rel}:{n}: {room} imports {target}: {line.strip()}")
    if climbs:
        print("imports that climb (see ARCHITECTURE.md):\n" + "\n".join(climbs), file=sys.stderr)
        sys.exit(1)
    print(f"layers: {sum(1 for _ in root.rglob('*.rs'))} files, no import climbs")


if __name__ == "__main__":
    main()
