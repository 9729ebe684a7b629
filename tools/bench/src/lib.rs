//! Benchmarks of the functions against a Python/boto3 baseline: cold start, warm latency, peak RSS, package size, pipeline overhead.
