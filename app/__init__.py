"""The HTTP gateway: validates requests, queues jobs in Redis, answers with results."""
