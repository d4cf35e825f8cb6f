"""Sensorium 2023 (video -> mouse V1 responses) datasets for bench-harness."""
