from typing import Any

from django.core.management.base import BaseCommand

from soc.es import ensure_templates


class Command(BaseCommand):
    help = "Install or update the Elasticsearch index templates (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        ensure_templates()
        self.stdout.write(self.style.SUCCESS("index templates installed"))
