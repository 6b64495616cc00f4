from django.apps import AppConfig


class SocConfig(AppConfig):
    name = "soc"
    verbose_name = "National SOC platform"

    def ready(self) -> None:
        from soc import checks  # noqa: F401 - registers the system checks
