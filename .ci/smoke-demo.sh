#!/usr/bin/env bash
# Starts `npm run demo` on its own database and port, sends a lookup with the demo portal key,
# checks the answer, and stops it.
set -euo pipefail
cd "$(dirname "$0")/.."

port=${SMOKE_PORT:-4199}
db="junction_smoke_$$"
export PORT=$port
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db"
export JUNCTION_DEMO_PORTAL_KEY="jk_portal_smoke_$(date +%s%N)_ci_key"
export JUNCTION_DEMO_ADMIN_KEY="jk_admin_smoke_$(date +%s%N)_ci_key"
export JUNCTION_SANDBOX_PORT_BASE=0
# Queues of its own: the machine's Redis may hold another run's jobs.
export JUNCTION_QUEUE_PREFIX="smoke-$$"
export JUNCTION_DEMO_CONFIG_OUT="$(mktemp)"
log=$(mktemp)

npm run demo >"$log" 2>&1 &
pid=$!
cleanup() {
  kill -TERM -- "$pid" 2>/dev/null || true
  pkill -TERM -f "dist/src/cli/main.js demo" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
  if command -v redis-cli >/dev/null; then
    redis-cli -h 127.0.0.1 --scan --pattern "$JUNCTION_QUEUE_PREFIX:*" | xargs -r redis-cli -h 127.0.0.1 del >/dev/null 2>&1 || true
  fi
  rm -f "$log" "$JUNCTION_DEMO_CONFIG_OUT"
}
trap cleanup EXIT

for _ in $(seq 1 120); do
  if grep -q "(ready)" "$log"; then break; fi
  if ! kill -0 "$pid" 2>/dev/null; then echo "demo exited early:"; cat "$log"; exit 1; fi
  sleep 1
done
grep -q "(ready)" "$log" || { echo "demo did not become ready:"; cat "$log"; exit 1; }

curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null
grep "junction demo: sync" "$log"
if grep "junction demo: sync" "$log" | grep -q ": FAILED"; then echo "a demo sync run failed"; exit 1; fi
[ "$(grep -c 'junction demo: sync' "$log")" -ge 9 ] || { echo "the demo did not sync every stream"; cat "$log"; exit 1; }
answer=$(curl -sS "http://127.0.0.1:$port/graphql" \
  -H 'content-type: application/json' -H "authorization: Bearer $JUNCTION_DEMO_PORTAL_KEY" \
  --data '{"query":"query($id: String!) { lookup(identifier: $id) { matchedBy customer { name phone devices { serial } tickets(first: 5) { totalCount } } } }","variables":{"id":"(0086)138 0013 8000"}}')
echo "lookup answered: $answer"
node -e '
  const a = JSON.parse(process.argv[1]);
  const l = a.data && a.data.lookup;
  if (!l || l.matchedBy !== "PHONE" || l.customer.phone !== "+8613800138000" || l.customer.devices.length === 0) {
    console.error("unexpected lookup answer"); process.exit(1);
  }
  console.log(`smoke: demo lookup found ${l.customer.name} with ${l.customer.devices.length} devices and ${l.customer.tickets.totalCount} tickets`);
' "$answer"

# Write-back round trip: a solution typed on one of this customer's open tickets reaches the sandboxes.
gql() { # $1 key, $2 JSON body
  curl -sS "http://127.0.0.1:$port/graphql" -H 'content-type: application/json' -H "authorization: Bearer $1" --data "$2"
}
tickets=$(gql "$JUNCTION_DEMO_PORTAL_KEY" '{"query":"{ lookup(identifier: \"+8613800138000\") { customer { tickets(first: 20) { edges { node { number status device { serial } } } } } } }"}')
number=$(node -e '
  const a = JSON.parse(process.argv[1]);
  if (!a.data) { console.error(process.argv[1]); process.exit(1); }
  const nodes = a.data.lookup.customer.tickets.edges.map((e) => e.node);
  const t = nodes.find((n) => n.device && !["RESOLVED", "CLOSED", "CANCELLED"].includes(n.status));
  if (!t) { console.error("no open ticket with a device for the demo customer"); process.exit(1); }
  console.log(t.number);
' "$tickets")
updated=$(gql "$JUNCTION_DEMO_PORTAL_KEY" "{\"query\":\"mutation { updateTicket(number: \\\"$number\\\", input: { solution: \\\"smoke: replaced the drain pump\\\" }) { number version } }\"}")
echo "updated: $updated"
for _ in $(seq 1 60); do
  wb=$(gql "$JUNCTION_DEMO_ADMIN_KEY" "{\"query\":\"{ writeBacks(ticket: \\\"$number\\\", first: 20) { edges { node { route status lastError } } } }\"}")
  if node -e '
    const n = JSON.parse(process.argv[1]).data.writeBacks.edges.map((e) => e.node);
    const dead = n.filter((w) => w.status === "DEAD" || w.status === "CONFLICT");
    if (dead.length) { console.error("write-back failed: " + JSON.stringify(dead)); process.exit(2); }
    process.exit(n.length > 0 && n.every((w) => w.status === "APPLIED") ? 0 : 1);
  ' "$wb"; then
    echo "smoke: write-backs of $number applied: $wb"
    break
  elif [ $? -eq 2 ]; then exit 1; fi
  sleep 1
done
node -e 'const n = JSON.parse(process.argv[1]).data.writeBacks.edges.map((e) => e.node); if (!n.length || !n.every((w) => w.status === "APPLIED")) { console.error("write-backs not applied: " + process.argv[1]); process.exit(1); }' "$wb"
grep "junction demo: data checks" "$log"
