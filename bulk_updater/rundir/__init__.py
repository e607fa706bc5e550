"""The run folder's state on disk: which job it holds (run.json), the lock, and the recovery
of an unfinished run's report so a resume sends only what is left."""
