"""Worker processes: read batches of jobs from Redis Streams, run tasks, write results."""
