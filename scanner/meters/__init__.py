"""Energy meters, one module per kind: nvml, nvml-power, rapl, estimate."""
