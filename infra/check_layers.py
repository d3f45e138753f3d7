"""Holds the walls of `shared/src` that the compiler does not hold inside one crate, as
ARCHITECTURE.md draws them; the test command runs it.

- No import climbs: each room (a top-level module) names only the rooms below it.
- The core (domain, ports, Meta's formats, the services, errors, configuration) names no
  AWS, Lambda, HTTP-server, HTTP-client or SQLite crate: those are the adapters' and the edge's.
- The four flows (`services/{inbound,outbound,accounts,inbox}`) never name each other: what
  two flows share is a port or `services/threads.rs`.
- In the core no file is over 400 lines and no function over 60.

Usage: python infra/check_layers.py [shared/src]
"""

import pathlib
import re
import sys

# Room -> the rooms it may import (`crate::<room>`). Test code (`#[cfg(test)]` modules) and
# comments are not counted; the test-only rooms may import anything.
LEAVES = {"domain", "cidr", "correlation", "metrics", "deadline", "logging"}
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
TOP = {"runtime", "lambda", "relay", "secrets", "local", "lib", "testing", "conformance", "fixtures"}
CORE = {"domain", "ports", "meta", "services", "error", "config"}
EDGE_CRATE = re.compile(
    r"\b(aws_sdk_\w+|aws_config|aws_lambda_events|lambda_http|lambda_runtime|axum|hyper|rusqlite|reqwest)::"
)
FLOWS = {"inbound", "outbound", "accounts", "inbox"}
MAX_FILE_LINES, MAX_FN_LINES = 400, 60
FN = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:async\s+)?(?:const\s+)?(?:unsafe\s+)?fn\s+(\w+)")
TEST_MODULE = re.compile(r"#\[cfg\(test\)\]\s*(?:#\[path = \"[^\"]+\"\]\s*)?mod \w+\s*(;|\{)")


def code_of(text):
    """The file without its test module and comments."""
    cut = TEST_MODULE.search(text)
    if cut:
        text = text[: cut.start()]
    return "\n".join(line.split("//")[0] for line in text.splitlines())


def long_functions(code):
    """(name, first line, lines) of each function over MAX_FN_LINES, braces counted outside
    string and character literals."""
    lines = code.splitlines()
    for start, line in enumerate(lines):
        name = FN.match(line)
        if not name:
            continue
        depth, opened = 0, False
        for end in range(start, len(lines)):
            text = re.sub(r'"(\\.|[^"\\])*"', '""', lines[end])
            text = re.sub(r"'(\\.|[^'\\])'", "''", text)
            depth += text.count("{") - text.count("}")
            opened = opened or "{" in text
            if (opened and depth <= 0) or (not opened and text.rstrip().endswith(";")):
                break
        if end - start + 1 > MAX_FN_LINES:
            yield name.group(1), start + 1, end - start + 1


def core_walls(rel, room, text, code):
    """What the core may not hold: edge crates, another flow's module, size."""
    found = []
    if len(text.splitlines()) > MAX_FILE_LINES:
        found.append(f"{rel}: {len(text.splitlines())} lines (the core keeps files under {MAX_FILE_LINES})")
    for name, line, n in long_functions(code):
        found.append(f"{rel}:{line}: fn {name} is {n} lines (the core keeps functions under {MAX_FN_LINES})")
    flow = rel.parts[1] if room == "services" and len(rel.parts) > 2 else None
    for n, line in enumerate(code.splitlines(), 1):
        crate = EDGE_CRATE.search(line)
        if crate:
            found.append(f"{rel}:{n}: the core names {crate.group(1)}: {line.strip()}")
        if flow:
            for other in re.findall(r"(?:services::|super::super::)(\w+)", line):
                other = other.lower()  # the service type (`services::Inbound`) or its module
                if other in FLOWS and other != flow:
                    found.append(f"{rel}:{n}: flow {flow} reaches into flow {other}: {line.strip()}")
    return found


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
        text = path.read_text()
        code = code_of(text)
        if room in CORE:
            climbs.extend(core_walls(rel, room, text, code))
        for n, line in enumerate(code.splitlines(), 1):
            if "crate::{" in line:
                climbs.append(f"{rel}:{n}: write one `use crate::<room>::...` per room (this check reads them)")
            for target in re.findall(r"crate::(\w+)", line):
                if target != room and target not in ALLOWED[room]:
                    climbs.append(f"{rel}:{n}: {room} imports {target}: {line.strip()}")
    if climbs:
        print("walls broken (see ARCHITECTURE.md):\n" + "\n".join(climbs), file=sys.stderr)
        sys.exit(1)
    files = sum(1 for _ in root.rglob("*.rs"))
    print(f"layers: {files} files, no import climbs, no flow reaching into another, the core small and free of edge crates")


if __name__ == "__main__":
    main()
