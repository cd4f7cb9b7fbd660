"""Vision tasks: one subpackage per task, each implementing `models.base.Task`."""
