#!/usr/bin/env python3
"""The bench summary: one table of every figure against its goal.

Reads bench output (the files named, or standard input) and keeps the lines
the bench scripts print for it, tab-separated:

    RESULT <TAB> figure <TAB> measured <TAB> goal <TAB> higher|lower

goal is "-" when the figure has none; "higher" or "lower" says which way is
better. Every other line is ignored. A figure printed twice keeps its last
value. Prints one aligned table:

    figure | measured | goal | ratio | status

ratio is measured/goal when higher is better, goal/measured when lower is
better, so a ratio of 1 or more meets the goal (status ok) and below 1 falls
short (status short). The rows with a goal come first, in the order they were
printed; rows without a goal follow, with "-".

Usage: bench/table.py [FILE...]
Exit status: 0, or 1 when no RESULT line was found or one is malformed.
"""
import sys


def parse(lines, where):
    rows = {}
    bad = []
    for n, line in enumerate(lines, 1):
        line = line.rstrip("\r\n")
        if not line.startswith("RESULT\t"):
            continue
        f = line.split("\t")
        try:
            if len(f) != 5 or not f[1] or f[4] not in ("higher", "lower"):
                raise ValueError("expected RESULT, figure, measured, goal, higher|lower")
            measured = float(f[2])
            goal = None if f[3] == "-" else float(f[3])
        except ValueError as e:
            bad.append(f"{where}:{n}: {e}: {line!r}")
            continue
        rows.pop(f[1], None)
        rows[f[1]] = (measured, goal, f[4])
    return rows, bad


def number(x):
    if x == int(x) or abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:,.2f}"


def table(rows):
    out = [("figure", "measured", "goal", "ratio", "status")]
    # The figures with a goal first, then those shown for context.
    ordered = sorted(rows.items(), key=lambda r: r[1][1] is None)
    for name, (measured, goal, way) in ordered:
        if goal is None:
            out.append((name, number(measured), "-", "-", "-"))
            continue
        if way == "higher":
            ratio = measured / goal if goal else float("inf")
            goal_s = ">= " + number(goal)
        else:
            ratio = goal / measured if measured else float("inf")
            goal_s = "<= " + number(goal)
        out.append((name, number(measured), goal_s, f"{ratio:.2f}", "ok" if ratio >= 1 else "short"))
    w = [max(len(r[i]) for r in out) for i in range(5)]
    lines = []
    for i, r in enumerate(out):
        lines.append(f"{r[0]:<{w[0]}}  {r[1]:>{w[1]}}  {r[2]:>{w[2]}}  {r[3]:>{w[3]}}  {r[4]}")
        if i == 0:
            lines.append("  ".join("-" * x for x in w))
    short = sum(1 for r in out[1:] if r[4] == "short")
    goals = sum(1 for r in out[1:] if r[4] != "-")
    lines.append(f"{goals - short} of {goals} goals met, {short} short")
    return "\n".join(lines)


def main(argv):
    rows, bad = {}, []
    sources = argv[1:] or ["-"]
    for src in sources:
        if src == "-":
            r, b = parse(sys.stdin, "stdin")
        else:
            with open(src, encoding="utf-8", errors="replace") as f:
                r, b = parse(f, src)
        for k, v in r.items():
            rows.pop(k, None)
            rows[k] = v
        bad += b
    for b in bad:
        print(f"bench/table.py: malformed: {b}", file=sys.stderr)
    if not rows:
        print("bench/table.py: no RESULT lines in " + ", ".join(sources), file=sys.stderr)
        return 1
    print(table(rows))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
