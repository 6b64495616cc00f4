"""Every periodic schedule of the platform, in one place, each with ``expires``.

``expires`` drops a run that waited longer than its own interval in the queue
(a worker was down): the next run covers the same window from its checkpoint,
so nothing is skipped and the queue never piles up stale copies.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from soc.queues import Queue


def beat_schedule() -> dict[str, dict[str, Any]]:
    interval = settings.DETECTION_INTERVAL_SECONDS
    return {
        "detection-run-due-rules": {
            "task": "detection.tasks.run_due_rules",
            "schedule": float(interval),
            "options": {"queue": Queue.DETECTION, "expires": float(interval)},
        },
        "notifications-send-sla-notices": {
            "task": "notifications.tasks.send_sla_notices",
            "schedule": 60.0,
            "options": {"queue": Queue.NOTIFICATIONS, "expires": 60.0},
        },
        # Overdue tasks (the centre's and the provinces'), each reminded about once.
        "notifications-send-task-reminders": {
            "task": "notifications.tasks.send_task_reminders",
            "schedule": 60.0,
            "options": {"queue": Queue.NOTIFICATIONS, "expires": 60.0},
        },
        "incidents-escalate-overdue-requests": {
            "task": "incidents.tasks.escalate_overdue_requests",
            "schedule": 60.0,
            "options": {"queue": Queue.NOTIFICATIONS, "expires": 60.0},
        },
        "collectors-check-health": {
            "task": "collectors.tasks.check_collector_health",
            "schedule": 30.0,
            "options": {"queue": Queue.DEFAULT, "expires": 30.0},
        },
        "collectors-delete-expired-event-indices": {
            "task": "collectors.tasks.delete_expired_event_indices",
            "schedule": 3600.0,
            "options": {"queue": Queue.DEFAULT, "expires": 3600.0},
        },
        # Uploaded logs whose reading never started (a lost message) or was killed: read (on) again.
        "collectors-requeue-stalled-backfill-uploads": {
            "task": "collectors.tasks.requeue_stalled_backfill_uploads",
            "schedule": 300.0,
            "options": {"queue": Queue.DEFAULT, "expires": 300.0},
        },
        # Rule runs past DETECTION_RUN_KEEP_DAYS become one summary row per rule and day.
        "detection-fold-rule-runs": {
            "task": "detection.tasks.fold_rule_runs",
            "schedule": 3600.0,
            "options": {"queue": Queue.DEFAULT, "expires": 3600.0},
        },
        # Evidence indices no incident refers to any more (detection.evidence).
        "detection-delete-unreferenced-evidence": {
            "task": "detection.tasks.delete_unreferenced_evidence",
            "schedule": 3600.0,
            "options": {"queue": Queue.DEFAULT, "expires": 3600.0},
        },
        # The dashboard's past weeks (console.models.WeeklyFigures); the current week is always counted live.
        "console-refresh-weekly-figures": {
            "task": "console.tasks.refresh_weekly_figures",
            "schedule": 300.0,
            "options": {"queue": Queue.REPORTS, "expires": 300.0},
        },
        # Hourly, but computes yesterday's scorecards only once, an hour after local midnight.
        "readiness-compute-yesterday": {
            "task": "readiness.tasks.compute_yesterday_if_due",
            "schedule": 3600.0,
            "options": {"queue": Queue.REPORTS, "expires": 3600.0},
        },
    }
