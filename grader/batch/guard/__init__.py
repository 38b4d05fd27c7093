"""Put on the grader's PYTHONPATH during a batch: its ``sitecustomize`` refuses protected writes."""
