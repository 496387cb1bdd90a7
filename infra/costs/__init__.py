"""What a stack will cost and how long its cold start takes, from what the plan holds (docs/costs.md).

`walk` reads the plan's resources into node pools, control plane, NAT, load balancer, registry and logs;
`estimate` prices them from the dated table `prices.yaml`; `coldstart` adds up the cold start from
`coldstart.yaml`; `report` prints both for `make plan` and the stack output `costs`; `readme` rewrites the
README's table from the same code.
"""
