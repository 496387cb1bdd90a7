"""The scaling and resilience lab: server replicas behind HAProxy, load, faults, capacity.

`python -m lab` runs a lab until SIGTERM or Ctrl-C; `python -m lab.loadtest` drives load at any URL;
`python -m lab.capacity` finds one replica's sustainable throughput and the autoscaling settings it implies.
"""
