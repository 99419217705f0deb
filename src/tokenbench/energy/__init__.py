"""Energy: meters read around a measurement window (NVML's total-energy counter on NVIDIA GPUs)."""
