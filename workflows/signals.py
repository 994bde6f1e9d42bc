from django.dispatch import Signal

# Sent with `run` inside the transaction that saves a run's final status (succeeded, failed or cancelled).
workflow_run_finished = Signal()
