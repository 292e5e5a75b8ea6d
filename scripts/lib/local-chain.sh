# shellcheck shell=bash
# Helpers shared by scripts/chain and scripts/bench-gas: toolchain environment, a short-lived anvil
# that is always stopped, and the deployment. Source it after setting ROOT to the repository root.

chain_env() {
  export PATH="$ROOT/node_modules/.bin:$PATH"
  export FOUNDRY_SOLC="$ROOT/scripts/solc"
  # shellcheck source=../../anvil/anvil.env
  source "$ROOT/anvil/anvil.env"
  local tool
  for tool in forge anvil cast node; do
    command -v "$tool" >/dev/null || { echo "error: $tool not found (run scripts/setup, or npm ci)" >&2; return 1; }
  done
}

# port_in_use HOST PORT: true when something accepts connections there.
port_in_use() {
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# free_port: prints a port nothing listens on.
free_port() {
  local i p
  for i in $(seq 1 100); do
    p=$((20000 + RANDOM % 30000))
    if ! port_in_use 127.0.0.1 "$p"; then
      echo "$p"
      return 0
    fi
  done
  echo "error: found no free port" >&2
  return 1
}

ANVIL_PID=""

# start_anvil PORT LOGFILE: starts anvil in the background (ANVIL_PID) and waits until it answers.
# Must run in the calling shell (not in $(...)) so that stop_anvil can wait for it.
start_anvil() {
  local port=$1 log=$2 i
  if port_in_use "$ANVIL_HOST" "$port"; then
    echo "error: port $port on $ANVIL_HOST is already in use (another anvil, scripts/chain or scripts/run?)." >&2
    echo "       Stop it, or pick another port: ANVIL_PORT=<port> $0" >&2
    return 1
  fi
  local args=(--host "$ANVIL_HOST" --port "$port" --chain-id "$ANVIL_CHAIN_ID"
    --mnemonic "$ANVIL_MNEMONIC" --accounts "$ANVIL_ACCOUNTS" --balance "$ANVIL_BALANCE")
  if [ -n "$ANVIL_BLOCK_TIME" ]; then args+=(--block-time "$ANVIL_BLOCK_TIME"); fi
  if [ -n "$ANVIL_HARDFORK" ]; then args+=(--hardfork "$ANVIL_HARDFORK"); fi
  anvil "${args[@]}" >"$log" 2>&1 &
  ANVIL_PID=$!
  for i in $(seq 1 100); do
    if ! kill -0 "$ANVIL_PID" 2>/dev/null; then
      ANVIL_PID=""
      echo "error: anvil exited at start; its log ($log):" >&2
      tail -n 20 "$log" >&2
      return 1
    fi
    if cast chain-id --rpc-url "http://$ANVIL_HOST:$port" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "error: anvil did not answer on port $port within 10 s" >&2
  return 1
}

# stop_anvil: stops the anvil this shell started, if any (SIGTERM, then SIGKILL after 5 s).
stop_anvil() {
  local pid=$ANVIL_PID i
  ANVIL_PID=""
  [ -n "$pid" ] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
  fi
  wait "$pid" 2>/dev/null || true
}

# dev_accounts N: fills DEV_ADDR[i] and DEV_KEY[i] for the mnemonic's first N accounts.
dev_accounts() {
  local n=$1 lines
  lines=$(cast wallet derive "$ANVIL_MNEMONIC" --accounts "$n" --insecure --json |
    node -e 'let d="";process.stdin.on("data",c=>d+=c).on("end",()=>{for(const a of JSON.parse(d))console.log(a.address+" "+a.private_key)})')
  DEV_ADDR=()
  DEV_KEY=()
  local addr key
  while read -r addr key; do
    DEV_ADDR+=("$addr")
    DEV_KEY+=("$key")
  done <<<"$lines"
  [ "${#DEV_ADDR[@]}" -eq "$n" ] || { echo "error: could not derive $n dev accounts" >&2; return 1; }
}

# json_get FILE KEY: prints a top-level value of a JSON file.
json_get() {
  node -e 'const v=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"))[process.argv[2]];
    if(v===undefined){process.stderr.write("missing key "+process.argv[2]+"\n");process.exit(1)}
    console.log(typeof v==="object"?JSON.stringify(v):String(v))' "$1" "$2"
}

# deploy RPC_URL DEPLOYER_KEY DEPLOYMENTS_PATH LOGFILE: runs script/Deploy.s.sol with --broadcast.
# DEPLOYMENTS_PATH is relative to contracts/ (forge's fs_permissions apply).
# --slow: one transaction at a time, each after the previous one's receipt. Sent all at once, a
# CI run saw anvil leave two of them queued behind a nonce gap, and forge waited for their
# receipts forever.
deploy() {
  local rpc=$1 key=$2 out=$3 log=$4
  if ! (cd "$ROOT/contracts" && DEPLOYMENTS_PATH="$out" MNEMONIC="$ANVIL_MNEMONIC" \
    DEV_ACCOUNTS="$ANVIL_ACCOUNTS" forge script script/Deploy.s.sol \
    --rpc-url "$rpc" --broadcast --slow --private-key "$key" --non-interactive) >"$log" 2>&1; then
    echo "error: deployment failed; forge's output ($log):" >&2
    tail -n 40 "$log" >&2
    return 1
  fi
}
