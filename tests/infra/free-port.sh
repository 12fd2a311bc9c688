# Sourced by the scripts that start servers on loopback. free_port prints a TCP port nobody listens
# on, chosen below the kernel's ephemeral range so that no outgoing connection holds it by the time
# the server binds; a server that still loses the race is restarted on another port by its caller.
free_port() {
  local low high from=20000 to p
  read -r low high </proc/sys/net/ipv4/ip_local_port_range
  to=$((low - 1))
  if ((to - from < 2000)); then from=$((high + 1)) to=65535; fi
  if ((to - from < 2000)); then from=20000 to=60000; fi
  for _ in $(seq 1 200); do
    p=$((from + (RANDOM * 32768 + RANDOM) % (to - from + 1)))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
  done
  echo "free_port: no free port between $from and $to" >&2
  return 1
}
