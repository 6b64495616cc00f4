from django.apps import AppConfig


class OrganisationsConfig(AppConfig):
    name = "organisations"
    verbose_name = "Organisations and tenancy"

    def ready(self) -> None:
        from organisations import signals  # noqa: F401  (connects receivers)
