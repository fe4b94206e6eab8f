"""Operations: health and readiness, metrics, logs and the per-request observation."""
