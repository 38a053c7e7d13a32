#!/bin/sh
# Prints this board's uptime, root disk usage and memory for the node-health skill.
echo "== uptime"
uptime
echo "== disk (/)"
df -h /
echo "== memory (MiB)"
free -m 2>/dev/null || grep -E '^(MemTotal|MemAvailable):' /proc/meminfo
