"""Load generation: plans (what to send), workers (who sends it), sweeps (at which load)."""
