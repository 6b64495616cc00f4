"""The one list of Celery queues; routes and workers refer to these names."""

from enum import StrEnum


class Queue(StrEnum):
    DEFAULT = "default"
    DETECTION = "detection"
    INGEST = "ingest"
    NOTIFICATIONS = "notifications"
    REPORTS = "reports"
