"""Series sampled while a point is measured: the engine's Prometheus metrics, GPU and engine
process telemetry. One module per source behind `sampler.Sampler`; `recorder` runs them."""
