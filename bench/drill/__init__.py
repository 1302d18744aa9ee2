"""`make cluster-drill MINUTES=3`: several app hosts behind haproxy, pgbouncer, a primary
and a streaming replica, Redis; load through the balancer and faults on purpose."""
