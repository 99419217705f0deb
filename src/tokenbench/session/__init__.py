"""What `bench run` and `bench eval` share to measure a target: opening it (embedded or remote),
identifying its engine and model, and recording that in the envelope's terms."""
