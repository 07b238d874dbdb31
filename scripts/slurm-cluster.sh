#!/usr/bin/env bash
# A real one-node Slurm cluster (Debian's slurm-wlm 22.05 + munge) for tests,
# run as root inside its own network namespace and torn down by PID.
#
#   slurm-cluster.sh install            install slurm-wlm and munge with apt (once per machine)
#   slurm-cluster.sh start DIR          create DIR, start munged, slurmctld and slurmd; wait until
#                                       the node is idle (60 s, SLURM_CLUSTER_TIMEOUT overrides)
#   slurm-cluster.sh run DIR CMD [ARGS] run CMD inside the cluster's namespace with SLURM_CONF set
#                                       (sbatch, squeue, scontrol, `ore launch slurm ...`)
#   slurm-cluster.sh stop DIR           kill the daemons and every process left in the namespace,
#                                       delete the namespace; idempotent
#
# Everything the cluster writes lives in DIR: munge.key, munge.socket, slurm.conf, state/,
# spool/, *.log, *.pid, and `netns` (the namespace's name). stop leaves DIR in place (its logs
# help when a test fails); delete it yourself.
#
# Why a network namespace: the daemons listen on fixed ports (6817/6818) and bind 127.0.0.1;
# in a private namespace two clusters (or a real Slurm on the host) never collide. The
# namespace is entered with `nsenter --net=` rather than `ip netns exec`, which would also
# remount /sys in a new mount namespace and hide the cgroup tree from slurmd.
set -euo pipefail

SCRIPT=$(basename "$0")
DAEMONS=(slurmd slurmctld munged)   # stop order: node first, munge last

die() { echo "$SCRIPT: error: $*" >&2; exit 1; }
log() { echo "$SCRIPT: $*" >&2; }

usage() {
  cat >&2 <<EOF
usage: $SCRIPT install
       $SCRIPT start DIR
       $SCRIPT run DIR CMD [ARGS...]
       $SCRIPT stop DIR
EOF
  exit 2
}

need_root() { [ "$(id -u)" = 0 ] || die "$1 needs root (network namespaces, munged and slurmd run as root)"; }

# --- install ---------------------------------------------------------------------------------

have_all() {
  local c
  for c in slurmctld slurmd munged sbatch; do
    # The daemons live in /usr/sbin, which a non-login PATH may lack.
    command -v "$c" >/dev/null 2>&1 || [ -x "/usr/sbin/$c" ] || return 1
  done
}

cmd_install() {
  if have_all; then
    log "slurm-wlm and munge are already installed ($(slurmctld -V 2>/dev/null || /usr/sbin/slurmctld -V))"
    return 0
  fi
  need_root install
  command -v apt-get >/dev/null || die "slurmctld/slurmd/munged/sbatch not found and apt-get is missing; install Slurm and MUNGE by hand"
  export DEBIAN_FRONTEND=noninteractive
  # Refresh the package lists only when apt does not know the package yet.
  if ! apt-cache show slurm-wlm >/dev/null 2>&1; then
    apt-get update -q >&2 || die "apt-get update failed; cannot install slurm-wlm and munge"
  fi
  apt-get install -y -q --no-install-recommends slurm-wlm munge >&2 \
    || die "apt-get install slurm-wlm munge failed (see the apt output above)"
  have_all || die "slurm-wlm and munge were installed but slurmctld/slurmd/munged/sbatch are still not found"
  log "installed $(/usr/sbin/slurmctld -V)"
}

# --- helpers for start/run/stop --------------------------------------------------------------

# Absolute path of DIR (it may not exist yet).
abs_dir() {
  [ -n "${1:-}" ] || usage
  case "$1" in /*) printf '%s\n' "${1%/}" ;; *) printf '%s/%s\n' "$PWD" "${1%/}" ;; esac
}

# The namespace's name: ore-slurm-<first 10 hex digits of md5(DIR)>; stable for a DIR.
netns_name() { printf 'ore-slurm-%s\n' "$(printf '%s' "$1" | md5sum | cut -c1-10)"; }

# The daemons are looked up on PATH plus /usr/sbin (not on a plain user's PATH).
export PATH="$PATH:/usr/sbin:/sbin"

# True when PID is alive and is the program NAME (guards against a recycled PID).
pid_is() {
  local pid=$1 name=$2 comm
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
  [ "$comm" = "$name" ] || return 1
  ! is_zombie "$pid"
}

# A zombie (exited, not yet reaped by its parent) counts as gone. /proc/PID/status, not
# /proc/PID/stat: slurmstepd rewrites its name to "slurmstepd: [1.batch]", spaces included.
is_zombie() { [ "$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null)" = Z ]; }

# Run "$@" in the cluster's namespace with its SLURM_CONF.
in_ns() { nsenter --net="/run/netns/$NS" env SLURM_CONF="$DIR/slurm.conf" "$@"; }

# Start daemon NAME in the background inside the namespace, its stdin/out/err on files so it
# never holds the caller's pipes open (a test reading our output would otherwise hang).
# nsenter (without --pid), setsid (we are not a process-group leader) and env all exec, so $!
# is the daemon itself; it is checked below.
spawn() {
  local name=$1; shift
  nsenter --net="/run/netns/$NS" setsid env SLURM_CONF="$DIR/slurm.conf" "$@" \
    </dev/null >>"$DIR/$name.out" 2>&1 &
  local pid=$!
  echo "$pid" >"$DIR/$name.pid"
  sleep 0.2
  pid_is "$pid" "$name" || { show_logs; die "$name exited at once (pid $pid); logs above"; }
}

show_logs() {
  local f
  # *.log: the daemons' logs; *.out: their stdout/stderr (mostly the same lines, but also
  # whatever a daemon printed before it opened its log).
  for f in "$DIR"/*.log "$DIR"/*.out; do
    [ -s "$f" ] || continue
    echo "----- tail of $f" >&2
    tail -n 20 "$f" >&2
  done
}

# --- start -----------------------------------------------------------------------------------

write_slurm_conf() {
  local cpus mem
  cpus=$(nproc)
  # RealMemory a little under what slurmd will find, so the node is never drained for "Low
  # RealMemory"; memory is not a consumable resource here (CR_Core), so the value hardly matters.
  mem=$(awk '/^MemTotal:/ {m = int($2 / 1024 * 0.9); print (m > 100 ? m : 100)}' /proc/meminfo)
  cat >"$DIR/slurm.conf" <<EOF
# Written by $SCRIPT start $DIR
ClusterName=ore-test
# "localhost" is replaced by this machine's short hostname, so slurmctld accepts it.
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=6817
SlurmdPort=6818
AuthType=auth/munge
CredType=cred/munge
# cred_expire also sets how long a requeued job waits before it may start again (default 120 s).
AuthInfo=socket=$DIR/munge.socket,cred_expire=10
CommunicationParameters=NoInAddrAny
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pidfile
SlurmdPidFile=$DIR/slurmd.pidfile
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig=$DIR/plugstack.conf
MailProg=/bin/true
# No cgroups anywhere: processes are tracked by parent PID, tasks are not bound.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
# The main loop every 2 s (default 60): requeued and dependent jobs start promptly.
SchedulerParameters=sched_interval=2,bf_interval=2
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobRequeue=1
ReturnToService=2
SlurmdTimeout=30
SlurmctldTimeout=30
InactiveLimit=0
KillWait=5
# Finished jobs stay visible to squeue/scontrol for 5 minutes (the default), so a test can
# read their final JobState.
MinJobAge=300
SlurmdParameters=config_overrides
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
  : >"$DIR/plugstack.conf"
}

cmd_start() {
  need_root start
  have_all || die "Slurm or MUNGE is not installed; run: $0 install"
  DIR=$(abs_dir "${1:-}")
  NS=$(netns_name "$DIR")
  if [ -e "$DIR" ] && [ -n "$(ls -A "$DIR" 2>/dev/null)" ]; then
    die "$DIR is not empty; start needs a fresh folder (stop the old cluster and delete it first)"
  fi
  [ -e "/run/netns/$NS" ] && die "network namespace $NS for $DIR already exists; run: $0 stop $DIR"
  mkdir -p "$DIR/state" "$DIR/spool"
  chmod 0700 "$DIR" "$DIR/state" "$DIR/spool"
  echo "$NS" >"$DIR/netns"

  # From here on, a failure stops what was started.
  trap 'rc=$?; if [ $rc -ne 0 ]; then log "start failed; stopping what it started"; cmd_stop "$DIR" || true; fi' EXIT

  # The namespace: lo up, plus 127.0.0.2. glibc's getaddrinfo(AI_ADDRCONFIG) ignores 127.0.0.1
  # when deciding whether the host "has IPv4", and then resolves nothing.
  ip netns add "$NS" || die "ip netns add $NS failed"
  ip -n "$NS" link set lo up
  ip -n "$NS" addr add 127.0.0.2/8 dev lo

  # MUNGE: a fresh key and every path in DIR; --force because we run as root and DIR's parent
  # (/tmp) is world-writable.
  dd if=/dev/urandom of="$DIR/munge.key" bs=1024 count=1 status=none
  chmod 0400 "$DIR/munge.key"
  spawn munged munged -F --force \
    --socket="$DIR/munge.socket" --key-file="$DIR/munge.key" --pid-file="$DIR/munged.pidfile" \
    --log-file="$DIR/munged.log" --seed-file="$DIR/munged.seed"
  local t
  for t in $(seq 50); do [ -S "$DIR/munge.socket" ] && break; sleep 0.1; done
  [ -S "$DIR/munge.socket" ] || { show_logs; die "munged did not create $DIR/munge.socket"; }

  write_slurm_conf
  spawn slurmctld slurmctld -D -i
  spawn slurmd slurmd -D -N localhost

  # Wait until the controller answers and the node is idle.
  local timeout=${SLURM_CLUSTER_TIMEOUT:-60} start state=""
  start=$(date +%s)
  while :; do
    state=$(in_ns sinfo -h -N -n localhost -o %t 2>/dev/null || true)
    [ "$state" = idle ] && break
    for t in "${DAEMONS[@]}"; do
      pid_is "$(cat "$DIR/$t.pid")" "$t" || { show_logs; die "$t died during start; logs above"; }
    done
    if [ $(( $(date +%s) - start )) -ge "$timeout" ]; then
      show_logs
      die "node not idle after ${timeout}s (sinfo state: '${state:-no answer}'); logs above"
    fi
    sleep 0.5
  done
  trap - EXIT
  log "cluster up in $(( $(date +%s) - start ))s: DIR=$DIR netns=$NS SLURM_CONF=$DIR/slurm.conf"
}

# --- run -------------------------------------------------------------------------------------

cmd_run() {
  DIR=$(abs_dir "${1:-}"); shift || true
  [ $# -ge 1 ] || usage
  [ -f "$DIR/netns" ] || die "$DIR has no cluster (no $DIR/netns); run: $0 start $DIR"
  NS=$(cat "$DIR/netns")
  [ -e "/run/netns/$NS" ] || die "network namespace $NS is gone; the cluster in $DIR is stopped"
  exec nsenter --net="/run/netns/$NS" env SLURM_CONF="$DIR/slurm.conf" "$@"
}

# --- stop ------------------------------------------------------------------------------------

# term_then_kill TENTHS PID...: TERM the PIDs, wait up to TENTHS/10 s, then KILL those left.
term_then_kill() {
  local tenths=$1; shift
  [ $# -gt 0 ] || return 0
  kill -TERM "$@" 2>/dev/null || true
  local i p alive
  for i in $(seq "$tenths"); do
    alive=()
    for p in "$@"; do [ -d "/proc/$p" ] && ! is_zombie "$p" && alive+=("$p"); done
    [ ${#alive[@]} -eq 0 ] && return 0
    sleep 0.1
  done
  log "killing (SIGKILL) ${alive[*]}"
  kill -KILL "${alive[@]}" 2>/dev/null || true
}

cmd_stop() {
  DIR=$(abs_dir "${1:-}")
  NS=$(cat "$DIR/netns" 2>/dev/null || netns_name "$DIR")
  local d pid pids=()
  # 1. The daemons, by their recorded PIDs (only if the PID is still that daemon).
  for d in "${DAEMONS[@]}"; do
    pid=$(cat "$DIR/$d.pid" 2>/dev/null || true)
    if pid_is "$pid" "$d"; then pids+=("$pid"); fi
  done
  term_then_kill 100 "${pids[@]}"
  # 2. Whatever is left in the namespace: slurmstepd and the job's processes (with
  #    proctrack/linuxproc they outlive slurmd). Every process started through this cluster
  #    is in the namespace, and nothing else is.
  if [ -e "/run/netns/$NS" ]; then
    #    slurmstepd ignores TERM, so these get 2 s before KILL.
    mapfile -t pids < <(ip netns pids "$NS" 2>/dev/null || true)
    term_then_kill 20 "${pids[@]}"
    ip netns del "$NS" 2>/dev/null || [ ! -e "/run/netns/$NS" ] || die "could not delete network namespace $NS"
  fi
  rm -f "$DIR/munge.socket" "$DIR/munge.socket.lock"
  return 0
}

# --- main ------------------------------------------------------------------------------------

[ $# -ge 1 ] || usage
cmd=$1; shift
case "$cmd" in
  install) [ $# -eq 0 ] || usage; cmd_install ;;
  start) [ $# -eq 1 ] || usage; cmd_start "$1" ;;
  run) [ $# -ge 2 ] || usage; cmd_run "$@" ;;
  stop) [ $# -eq 1 ] || usage; need_root stop; cmd_stop "$1" ;;
  -h|--help|help) usage ;;
  *) echo "$SCRIPT: error: unknown command '$cmd'" >&2; usage ;;
esac
