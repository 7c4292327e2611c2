#!/usr/bin/env bash
# Whole-process figures for leadq at 100k leads: import of a 100k-row CSV, the hot top 20 on a
# demo store of 100k leads, `leadq log`, store size and peak memory, `leadq demo` time.
# Not part of `cargo test`. Usage: benches/cli.sh [--big] (--big also times demo --count 1000000).
# Needs hyperfine (else a date +%s%N loop is used) and GNU time at /usr/bin/time
# (apt-get install -y hyperfine time). Everything happens in a temporary folder, removed at the end
# unless KEEP=1.
set -euo pipefail

cd "$(dirname "$0")/.."
ROWS=${ROWS:-100000}
RUNS=${RUNS:-20}
BIG=0
[[ "${1:-}" == "--big" ]] && BIG=1

export LEADQ_NOW=2026-11-22T09:00:00Z
export TZ=UTC
WORK=$(mktemp -d /tmp/bench-leadq.XXXXXX)
cleanup() { if [[ "${KEEP:-0}" == 1 ]]; then echo "kept $WORK"; else rm -rf "$WORK"; fi; }
trap cleanup EXIT

cargo build --release --locked --quiet
BIN=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/leadq
cp "$BIN" "$WORK/leadq"
LEADQ=$WORK/leadq
# Nothing from the user's own setup: config, rules and stores all live in $WORK.
export HOME=$WORK XDG_CONFIG_HOME=$WORK/config XDG_DATA_HOME=$WORK/data
unset LEADQ_DB

echo "# leadq whole-process figures, $(date -u +%Y-%m-%d), $(nproc) cores, $(uname -r)"
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------- helpers
# timed LABEL CMD...: wall time (mean, min) over $RUNS runs.
timed() {
    local label=$1
    shift
    if command -v hyperfine >/dev/null; then
        hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$WORK/h.json" "$*" >/dev/null 2>&1
        python3 - "$label" "$WORK/h.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[2]))["results"][0]
ms = lambda s: f"{s * 1000:.1f} ms"
print(f"{sys.argv[1]}: mean {ms(r['mean'])} ± {ms(r['stddev'])}, min {ms(r['min'])}, "
      f"median {ms(r['median'])}, user {ms(r['user'])}, sys {ms(r['system'])} ({len(r['times'])} runs)")
EOF
    else
        local total=0 best=999999999999 t0 t1 d
        for _ in $(seq "$RUNS"); do
            t0=$(date +%s%N)
            "$@" >/dev/null
            t1=$(date +%s%N)
            d=$(((t1 - t0) / 1000))
            total=$((total + d))
            ((d < best)) && best=$d
        done
        echo "$label: mean $((total / RUNS / 1000)) ms, min $((best / 1000)) ms ($RUNS runs, no hyperfine)"
    fi
}

# once LABEL CMD...: one run with wall time and peak RSS (GNU time -v).
once() {
    local label=$1
    shift
    /usr/bin/time -v "$@" >"$WORK/out.txt" 2>"$WORK/time.txt" || {
        cat "$WORK/out.txt" "$WORK/time.txt"
        return 1
    }
    local wall rss user sys
    wall=$(grep 'Elapsed (wall clock)' "$WORK/time.txt" | awk '{print $NF}')
    rss=$(grep 'Maximum resident set size' "$WORK/time.txt" | awk '{print $NF}')
    user=$(grep 'User time' "$WORK/time.txt" | awk '{print $NF}')
    sys=$(grep 'System time' "$WORK/time.txt" | awk '{print $NF}')
    echo "$label: wall $wall, user ${user}s, sys ${sys}s, max RSS $((rss / 1024)) MiB | $(tail -1 "$WORK/out.txt")"
}

size() { echo "store size $1: $(du -sh "$2" | cut -f1)"; }

# ---------------------------------------------------------------- import of $ROWS CSV rows
python3 - "$ROWS" >"$WORK/leads.csv" <<'EOF'
import random, sys
random.seed(1)
first = ["Anna", "James", "Maria", "Lucas", "Sofia", "Oliver", "Иван", "Ольга"]
last = ["Silva", "Smith", "Garcia", "Rossi", "Петров", "Novak"]
companies = ["Acme", "Globex", "Initech", "Hooli", "Техноком"]
sources = ["web-form", "landing-page", "ad-campaign", "referral", "webinar"]
titles = ["CEO", "CTO", "Head of Sales", "Analyst", "Engineer"]
print("name,email,phone,company,source,title")
for i in range(int(sys.argv[1])):
    print(f"{random.choice(first)} {random.choice(last)},user{i}@example{i % 97}.com,"
          f"+1 {3000000000 + i},{random.choice(companies)},{random.choice(sources)},"
          f"{random.choice(titles)}")
EOF
for n in 1 2 3 4 5; do
    rm -rf "$WORK/imported"
    once "import $ROWS rows (run $n)" "$LEADQ" --db "$WORK/imported" import "$WORK/leads.csv"
done
size "after import" "$WORK/imported"
timed "list --temp hot --limit 20 (imported store)" "$LEADQ" --db "$WORK/imported" list --temp hot --limit 20

# ---------------------------------------------------------------- demo store of 100k leads
once "demo --count 100000" "$LEADQ" --db "$WORK/demo" demo --count 100000
size "demo 100k" "$WORK/demo"
once "first open after demo" "$LEADQ" --db "$WORK/demo" list --temp hot --limit 20
timed "list --temp hot --limit 20 (demo 100k)" "$LEADQ" --db "$WORK/demo" list --temp hot --limit 20
timed "list --limit 20 (demo 100k)" "$LEADQ" --db "$WORK/demo" list --limit 20
timed "show 500 (demo 100k)" "$LEADQ" --db "$WORK/demo" show 500
once "peak RSS of list --temp hot --limit 20" "$LEADQ" --db "$WORK/demo" list --temp hot --limit 20
# The same queue two weeks on: stale upper bounds make the queue scan further.
LEADQ_NOW=2026-12-06T09:00:00Z timed "list --temp hot --limit 20, two weeks later" \
    "$LEADQ" --db "$WORK/demo" list --temp hot --limit 20

# ---------------------------------------------------------------- log
timed "log 500 call --outcome no-answer (demo 100k)" \
    "$LEADQ" --db "$WORK/demo" log 500 call --outcome no-answer --note bench
once "peak RSS of log" "$LEADQ" --db "$WORK/demo" log 500 note --note bench
size "demo 100k after the logs" "$WORK/demo"

# ---------------------------------------------------------------- a million leads (optional)
if [[ $BIG == 1 ]]; then
    once "demo --count 1000000" "$LEADQ" --db "$WORK/demo1m" demo --count 1000000
    size "demo 1M" "$WORK/demo1m"
    timed "list --temp hot --limit 20 (demo 1M)" "$LEADQ" --db "$WORK/demo1m" list --temp hot --limit 20
fi
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
