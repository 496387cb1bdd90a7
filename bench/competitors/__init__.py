"""The servers Liftoff is measured against. Each file runs inside that server's own environment."""
